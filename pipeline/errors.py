"""One exception hierarchy for the whole pipeline.

Three families decide what the job runner does:

* ``TransientError`` - worth retrying (HTTP 429, 5xx, timeouts); retried with
  exponential backoff, three tries.
* ``DeterministicError`` - retrying cannot help (invalid id, unsupported URL,
  corrupt media, blocked address); the source fails at once.
* ``PartialError`` - the stage produced a usable result but some items failed
  (for example some geocodes); the job ends ``partial``.

Messages are written for the analyst: they say what went wrong with *their*
input and, where there is one, what to do about it. They are turned into UI
text only at the edges (CLI, pages).
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error the pipeline raises on purpose."""

    kind: str = "error"

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    @property
    def type_name(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, str]:
        return {"type": self.type_name, "kind": self.kind, "message": self.message}


class TransientError(PipelineError):
    """A failure that may go away if the same call is repeated later."""

    kind = "transient"


class DeterministicError(PipelineError):
    """A failure that repeats every time for the same input."""

    kind = "deterministic"


class PartialError(PipelineError):
    """Some items of a stage failed; the rest of the result is usable."""

    kind = "partial"

    def __init__(self, message: str, *, failed: int = 0, total: int = 0, **kw) -> None:
        super().__init__(message, **kw)
        self.failed = failed
        self.total = total


# --- transient -------------------------------------------------------------
class RateLimitedError(TransientError):
    """The remote service answered 429 (too many requests)."""


class ServiceUnavailableError(TransientError):
    """The remote service answered 5xx or could not be reached."""


class StageTimeoutError(TransientError):
    """A call or a queued inference item ran past its time limit."""


# --- deterministic ---------------------------------------------------------
class InvalidSourceError(DeterministicError):
    """The source string is neither a URL, an existing file nor a list file."""


class UnsupportedSourceError(DeterministicError):
    """No extractor or parser understands this source."""


class BlockedSourceError(DeterministicError):
    """The source points at a private, loopback or link-local address or is a
    file:// URL (refused to prevent SSRF)."""


class OfflineError(DeterministicError):
    """The source needs the network but offline mode is on."""


class CorruptMediaError(DeterministicError):
    """The audio/video could not be decoded."""


class SubtitleParseError(DeterministicError):
    """A subtitle file could not be parsed."""


class ExtractionError(DeterministicError):
    """The extractor returned something unusable (e.g. malformed JSON)."""


class ConfigurationError(DeterministicError):
    """A setting is missing or invalid (model name, API key, path)."""


class NotFoundError(DeterministicError):
    """No job, video or place with that id."""


class DatabaseLockedError(DeterministicError):
    """Another process holds the DuckDB file open for writing."""


class JobTimeoutError(DeterministicError):
    """A job ran past its time limit (``VIDEOMAP_JOB_TIMEOUT_S``) and was stopped."""


class WaitTimeoutError(TransientError):
    """Waiting for jobs ran past its limit; the jobs themselves go on."""

    @classmethod
    def for_jobs(cls, views, timeout: float) -> WaitTimeoutError:
        pending = [v for v in views if not v.finished]
        shown = "; ".join(f"{v.source} ({v.status}, {v.phase or 'not started'}, {v.progress:.0%})"
                          for v in pending[:5])
        more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
        return cls(f"Still waiting after {timeout:g} s for {len(pending)} job(s): {shown}{more}. "
                   "They go on in the workbench; check them with `python -m pipeline jobs`.")


class JobCanceledError(PipelineError):
    """The job was canceled by the user."""

    kind = "canceled"


class GeocodePartialError(PartialError):
    """Some places could not be geocoded."""


class BrokerUnavailableError(TransientError):
    """The task broker (Redis) does not answer; queued work waits for it."""


class WorkerCrashError(DeterministicError):
    """A stage task failed on its worker with an unexpected error (a bug, not bad input)."""


def error_from_dict(data: dict) -> PipelineError:
    """The error a worker reported (its ``to_dict``), as the same class here."""
    cls = globals().get(str(data.get("type") or ""))
    if not (isinstance(cls, type) and issubclass(cls, PipelineError)):
        cls = TransientError if data.get("kind") == "transient" else DeterministicError
    try:
        error = cls(str(data.get("message") or ""))
    except TypeError:  # a class with extra required arguments
        error = (TransientError if data.get("kind") == "transient" else DeterministicError)(str(data.get("message")))
    if data.get("retried"):
        error.retried = True  # type: ignore[attr-defined]
    return error
