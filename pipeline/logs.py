"""JSON-lines logging (python-json-logger): every record carries job_id, phase,
elapsed_ms and event when the caller gives them (``extra=``)."""

from __future__ import annotations

import logging
from pathlib import Path

from pythonjsonlogger.json import JsonFormatter

_FIELDS = ("job_id", "phase", "elapsed_ms", "event")


class _Defaults(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name in _FIELDS:
            if not hasattr(record, name):
                setattr(record, name, None)
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(job_id)s %(phase)s %(elapsed_ms)s %(event)s",
        rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
    )


def configure_logging(*, log_file: str | Path | None = None, stderr_level: int = logging.WARNING,
                      json_stderr: bool = False) -> None:
    """Pipeline logs as JSON lines to ``log_file``; warnings (plain or JSON) to stderr."""
    root = logging.getLogger("pipeline")
    root.setLevel(logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_videomap", False):
            root.removeHandler(handler)
    stream = logging.StreamHandler()
    stream.setLevel(stderr_level)
    stream.setFormatter(json_formatter() if json_stderr else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handlers: list[logging.Handler] = [stream]
    if log_file:
        path = Path(log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(path, encoding="utf-8")
        file_handler.setLevel(logging.INFO)
        file_handler.setFormatter(json_formatter())
        handlers.append(file_handler)
    for handler in handlers:
        handler._videomap = True  # type: ignore[attr-defined]
        handler.addFilter(_Defaults())
        root.addHandler(handler)
    root.propagate = False
