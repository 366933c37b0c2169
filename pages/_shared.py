"""What every page shares: the one Workbench, settings, user-facing errors, small formatters.

Pages stay thin: widgets plus calls into ``pipeline.api.Workbench``. Errors are turned
into user messages here, at the edge. No st.* call ever runs on a worker thread.
"""

from __future__ import annotations

import atexit
import collections
import gc
import logging
import os
import re
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import streamlit as st

from pipeline.api import Workbench
from pipeline.config import Settings
from pipeline.errors import PipelineError
from pipeline.storage.uploads import store_upload

logger = logging.getLogger("videomap.ui")

T = TypeVar("T")

# Uploads bigger than this are refused (the server's own ceiling is server.maxUploadSize).
UPLOAD_LIMIT_MB = Settings().upload_max_mb  # VIDEOMAP_UPLOAD_MAX_MB; the API uses the same limit
MEDIA_TYPES = [
    "mp4", "m4v", "mkv", "webm", "mov", "avi", "mpg", "mpeg", "ogv", "m4a", "mp3", "wav", "oga", "ogg",
    "opus", "flac", "aac", "srt", "vtt", "txt",
]
SECRET_NAMES = ("VIDEOMAP_LLM_API_KEY", "llm_api_key")


# ----------------------------------------------------------------- settings
def _secret(name: str) -> str | None:
    """A value from .streamlit/secrets.toml, or None when there is no such file or key."""
    try:
        value = st.secrets.get(name)
    except Exception:  # no secrets file: st.secrets raises on first access
        return None
    return str(value) if value else None


def load_settings() -> Settings:
    """Settings from VIDEOMAP_* environment variables (and .env).

    An LLM key may also come from st.secrets; it is put into the process environment
    (where the pipeline reads it) and is never shown or logged.
    """
    if not os.environ.get("VIDEOMAP_LLM_API_KEY"):
        for name in SECRET_NAMES:
            value = _secret(name)
            if value:
                os.environ["VIDEOMAP_LLM_API_KEY"] = value
                break
    if not os.environ.get("VIDEOMAP_LLM_MODEL"):
        model = _secret("VIDEOMAP_LLM_MODEL") or _secret("llm_model")
        if model:
            os.environ["VIDEOMAP_LLM_MODEL"] = model
    key = _environment_key()
    with _settings_lock:
        cached = _settings_cache.get(key)
    if cached is None:  # every page view asks twice; parsing the environment and .env each time cost ~10 ms
        settings = Settings()
        cached = (settings, settings.model_dump_json())
        with _settings_lock:
            if len(_settings_cache) > 8:
                _settings_cache.clear()
            _settings_cache[key] = cached
    return cached[0]


_settings_cache: dict[tuple, tuple[Settings, str]] = {}
_settings_lock = threading.Lock()


def _environment_key() -> tuple:
    """What Settings() reads: the VIDEOMAP_* variables and the .env file of the working directory."""
    try:
        dotenv = Path(".env").stat().st_mtime_ns
    except OSError:
        dotenv = None
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("VIDEOMAP_")))
    return os.getcwd(), dotenv, variables


def _settings_key(settings: Settings) -> str:
    # SecretStr dumps as '**********': the key never lands in the cache key.
    with _settings_lock:
        for cached, dumped in _settings_cache.values():
            if cached is settings:
                return dumped
    return settings.model_dump_json()


_released: set[int] = set()
_released_lock = threading.Lock()


def _release(bench: Workbench) -> None:
    """Shut a Workbench down once (cache eviction, st.cache_resource.clear() or process exit)."""
    from pipeline.service import current_coordinator

    if current_coordinator() is bench:  # the launcher's: it shuts it down itself
        return
    with _released_lock:
        if id(bench) in _released:
            return
        _released.add(id(bench))
    logger.info("shutting down a workbench", extra={"event": "workbench_release"})
    bench.shutdown(wait=False)


@st.cache_resource(max_entries=1, on_release=_release, show_spinner="Starting the workbench…")
def _workbench(settings_key: str) -> Workbench:
    """The ONE Workbench of this process (it owns the worker threads and the DuckDB file).

    Keyed on the settings so a test (or a changed VIDEOMAP_DB_PATH) gets its own;
    the previous one is shut down when it is evicted.
    """
    from pipeline.service import current_coordinator

    settings = load_settings()
    bench = current_coordinator(settings.db_path)
    if bench is not None:  # scripts/run.sh started the coordinator and the API before the app
        return bench
    bench = Workbench(settings)
    atexit.register(_release, bench)  # close DuckDB cleanly when the server stops
    threading.Thread(target=_warm_basemap, name="basemap-warmup", daemon=True).start()
    return bench


def _warm_basemap() -> None:
    from pipeline.geo.basemap import BasemapUnavailableError, country_outlines

    try:
        for level in ("world", "region"):
            country_outlines(level)
        from pages._mapview import basemap_images

        basemap_images({"latitude": 0.0, "longitude": 0.0, "zoom": 0.8})  # the world picture, drawn once
    except (BasemapUnavailableError, OSError):
        logger.warning("no packaged country outlines", exc_info=True)


def workbench() -> Workbench:
    """The process-wide Workbench; stops the page with a clear message if it cannot start."""
    settings = load_settings()
    try:
        return _workbench(_settings_key(settings))
    except PipelineError as exc:
        st.error(f"The workbench could not start. {md_escape(error_text(exc))}")
        st.stop()
        raise  # unreachable; keeps type checkers happy


# ----------------------------------------------------------------- markdown
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~$:=^])")


def md_escape(text: object) -> str:
    """Untrusted text made inert for Streamlit Markdown (st.error/info/success bodies).

    Backslash-escapes the characters that start emphasis, links, images, HTML, LaTeX,
    colour directives and emoji shortcodes; newlines become spaces.
    """
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


# ------------------------------------------------------------------- errors
def error_text(exc: BaseException) -> str:
    """A user-facing line for an exception; library/bug details go to the log, not the page."""
    if isinstance(exc, PipelineError):
        return f"{exc.type_name}: {exc.message}"
    logger.exception("unexpected error in the UI", exc_info=exc)
    return f"Unexpected error ({type(exc).__name__}); the details are in the server log."


def attempt(action: Callable[[], T], what: str) -> T | None:
    """Run a Workbench call; show an st.error (not a traceback) when it fails."""
    try:
        return action()
    except Exception as exc:
        st.error(f"{what} failed. {md_escape(error_text(exc))}")
        return None


# ---------------------------------------------------------------- uploads
def save_upload(media_dir: Path, filename: str, data: bytes) -> Path:
    """Write an uploaded file under <media_dir>/uploads/<hash>/<name> (idempotent); see pipeline.storage.uploads."""
    return store_upload(media_dir, filename, [data], max_bytes=max(len(data), 1))


def static_serving() -> bool:
    """Whether Streamlit serves static/ (the map's outline pictures then go by URL, not inline)."""
    try:
        return bool(st.get_option("server.enableStaticServing"))
    except Exception:  # pragma: no cover  (an unknown option in another Streamlit)
        return False


# --------------------------------------------------------------- network
@st.cache_data(ttl=300, show_spinner=False)
def network_available(host: str = "basemaps.cartocdn.com", port: int = 443, timeout: float = 1.5) -> bool:
    """Whether the tile server answers (checked at most every 5 minutes)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# ------------------------------------------------------------- formatting
def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    value = max(0.0, float(value))
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(int(round(value)), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def fmt_bytes(value: float | None) -> str:
    if not value:
        return "0 B"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover


def video_labels(bench: Workbench) -> dict[str, str]:
    """video_id -> a readable label: the title (an upload's hash prefix dropped); two videos with
    the same title get " (2)", " (3)" in the order they were added. Plain text: show it escaped."""
    labels: dict[str, str] = {}
    seen: dict[str, int] = {}
    for video_id, title in bench.video_titles().items():
        seen[title] = seen.get(title, 0) + 1
        labels[video_id] = title if seen[title] == 1 else f"{title} ({seen[title]})"
    return labels


def _leave_legacy_pages_mode() -> None:
    """Make a page opened by its URL on a fresh server go through app.py's st.navigation.

    Until some session has run app.py, Streamlit (1.67) treats a ``pages/`` folder beside the
    entry point as a legacy multipage app: opening http://…/map first runs pages/map.py on its
    own, lists every module in pages/ (``_shared`` too) in the sidebar and skips app.py's
    set_page_config. Rerunning once in st.navigation mode fixes that. Internal API, so guarded.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover
        return
    if getattr(PagesManager, "uses_pages_directory", None) is True:
        PagesManager.uses_pages_directory = False
        st.rerun()


RENDER_TIMES: dict[str, collections.deque] = {}  # page title -> recent server render times (ms)
_RENDER_LOCK = threading.Lock()


def render_stats() -> list[dict[str, object]]:
    """Per page: how many recent renders, their median and slowest server time (for Health)."""
    with _RENDER_LOCK:
        items = {title: list(times) for title, times in RENDER_TIMES.items()}
    return [{"page": title, "renders": len(times), "median_ms": round(statistics.median(times)),
             "max_ms": round(max(times))} for title, times in sorted(items.items()) if times]


@contextmanager
def page(title: str) -> Iterator[Workbench]:
    """Page frame: title and the Workbench. How long the page took goes to the log and the Health
    page (not onto the page); an invisible ``st-key-page_ready_<title>`` element comes last,
    which the browser tests wait for."""
    _leave_legacy_pages_mode()
    started = time.perf_counter()
    st.title(title)
    bench = workbench()
    yield bench
    elapsed_ms = (time.perf_counter() - started) * 1000
    with _RENDER_LOCK:
        RENDER_TIMES.setdefault(title, collections.deque(maxlen=200)).append(elapsed_ms)
    logger.info("page rendered", extra={"event": "page_rendered", "page": title,
                                         "elapsed_ms": round(elapsed_ms, 1)})
    slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    with st.container(key=f"page_ready_{slug}", height=1, border=False):
        st.empty()


# ------------------------------------------------------------------ memory
FREEZE_ABOVE = 50_000  # objects in the oldest GC generation that make a full collection slow


def freeze_long_lived(limit: int = FREEZE_ABOVE) -> bool:
    """Move the long-lived objects out of the garbage collector's sight (``gc.freeze``) when the
    oldest generation has grown past ``limit`` objects. Returns whether it froze.

    Streamlit runs a full collection after every script run (``runner.postScriptGC``); with the
    libraries, the workbench and the map's outlines loaded that is ~170,000 objects and 250-350 ms
    of this machine's CPU on every page view, holding the GIL (the page's last messages wait for
    it). Frozen objects are still freed by reference counting; only cycles among them would stay.
    Called by app.py after each run: in practice after the first runs of the process and when a
    large structure (the gazetteer) has been loaded.
    """
    if len(gc.get_objects(generation=2)) <= limit:
        return False
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    logger.info("long-lived objects frozen", extra={"event": "gc_freeze", "frozen": gc.get_freeze_count(),
                                                    "elapsed_ms": round((time.perf_counter() - started) * 1000, 1)})
    return True


# ------------------------------------------------------------ readable text
def fmt_time(epoch: float | None) -> str:
    """Epoch seconds -> local date and time of the viewer's browser (the server's zone otherwise)."""
    if not epoch:
        return "–"
    import datetime as dt
    from zoneinfo import ZoneInfo

    zone = None
    try:
        name = st.context.timezone
        zone = ZoneInfo(name) if name else None
    except Exception:  # no browser context (tests) or an unknown zone
        zone = None
    when = dt.datetime.fromtimestamp(float(epoch), tz=zone or dt.datetime.now().astimezone().tzinfo)
    today = dt.datetime.now(tz=when.tzinfo).date()
    return when.strftime("%H:%M:%S") if when.date() == today else when.strftime("%Y-%m-%d %H:%M")


def fmt_timecode(seconds: float | None) -> str:
    """Seconds -> ``m:ss`` or ``h:mm:ss`` (what a player shows)."""
    total = max(0, int(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def analyst_name() -> str:
    """Who is reviewing (goes into the corrections' audit trail); set in the sidebar."""
    import getpass

    default = os.environ.get("VIDEOMAP_ANALYST") or getpass.getuser() or "analyst"
    return (st.session_state.get("analyst_name") or "").strip() or default


def page_link(target, page_file: str, label: str, query_params: dict[str, str] | None = None,
              **kwargs) -> None:
    """``st.page_link`` to another page with query parameters. When the page runs on its own
    (AppTest, a page opened outside st.navigation) it falls back to a plain Markdown link."""
    from urllib.parse import urlencode

    from streamlit.errors import StreamlitAPIException

    try:
        target.page_link(page_file, label=label, query_params=query_params, **kwargs)
    except StreamlitAPIException:
        url = "/" + Path(page_file).stem + (("?" + urlencode(query_params)) if query_params else "")
        target.markdown(f"[{md_escape(label)}]({url})")
