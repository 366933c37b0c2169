"""Pure helpers of the Jobs page (no st.* calls): a job's progress inside its current phase.

A job's progress record is one number for the whole job (``JobView.progress``, 0..1) and the
name of its current phase. The runner writes it as (the weights of the phases already done +
the current phase's weight × the fraction reported inside it) / the weights of all the job's
phases (``pipeline.runner.runner.JobContext.progress``); a job without transcription (subtitles)
has no transcription weight. The fraction inside the phase is recovered from that, so the card
moves while a long phase (the summary of a long transcript) reports its own progress.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pipeline import PHASE_WEIGHTS

#: the job phases in order, with their progress-bar weights (the stage graph's)
PHASE_ORDER = tuple(PHASE_WEIGHTS)


def phase_fraction(phase: str | None, progress: float, weights: Mapping[str, float], *,
                   transcribed: bool) -> float | None:
    """The fraction (0..1) of ``phase`` done, from the job's overall ``progress``; None when the
    phase is not one of the weighted ones (or the weights are unknown)."""
    if phase not in PHASE_ORDER or not weights.get(phase):
        return None
    used = [p for p in PHASE_ORDER if p in weights and (transcribed or p != "transcription")]
    if phase not in used:
        return None
    total = sum(weights[p] for p in used)
    before = sum(weights[p] for p in used[:used.index(phase)])
    inner = (float(progress) * total - before) / weights[phase]
    return max(0.0, min(1.0, inner))


def transcribed(phase: str | None, started_phases: Iterable[str | None]) -> bool:
    """Whether the job's weights include the transcription: it is transcribing now or it has
    started that phase (a subtitle job goes from metadata straight to compression)."""
    return phase == "transcription" or "transcription" in set(started_phases)


def progress_text(status: str, phase: str | None, progress: float, inner: float | None) -> str:
    """``running · summary · 40% of this phase · 62% in all`` (the phase's share first: it moves)."""
    text = f"{status} · {phase or 'waiting'}"
    if inner is not None:
        return f"{text} · {inner:.0%} of this phase · {progress:.0%} in all"
    return f"{text} · {progress:.0%}"


__all__ = ["PHASE_ORDER", "PHASE_WEIGHTS", "phase_fraction", "progress_text", "transcribed"]
