"""The demo: a subtitle file and a short recording shipped with the package."""

from __future__ import annotations

from pathlib import Path

from ..config import PROJECT_ROOT

DEMO_DIR = Path(__file__).resolve().parent


def demo_sources() -> list[str]:
    """The bundled demo: a short narrated clip and a subtitle file, both naming places."""
    files = sorted(p for p in DEMO_DIR.iterdir() if p.suffix.lower() in (".ogg", ".opus", ".mp3", ".wav",
                                                                         ".m4a", ".srt", ".vtt"))
    try:
        return [str(p.relative_to(PROJECT_ROOT)) if p.is_relative_to(PROJECT_ROOT) else str(p) for p in files]
    except ValueError:  # pragma: no cover
        return [str(p) for p in files]
