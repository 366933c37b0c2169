"""Stage 1, Fetch: turn a source string into FetchedVideo records.

A source is a video/playlist/channel URL (via yt-dlp, metadata and subtitles
only; audio only when a video has no usable subtitles), a local media file, a
local subtitle/transcript file, or ``@list.txt`` (expanded by the caller with
:func:`read_source_list`).

Every network request yt-dlp makes (pages, API calls, redirects, subtitle and
media URLs) passes :func:`pipeline.netguard.check_url`; the generic extractor
(which reads arbitrary web pages) is off unless explicitly allowed.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yt_dlp import YoutubeDL
from yt_dlp.networking._urllib import UrllibRH as _YtdlpUrllibRH
from yt_dlp.networking.exceptions import HTTPError, RequestError, TransportError
from yt_dlp.utils import ExtractorError, GeoRestrictedError, UnsupportedError, YoutubeDLError

from ..datatypes import FetchedVideo, Record
from ..errors import (
    BlockedSourceError,
    CorruptMediaError,
    DeterministicError,
    InvalidSourceError,
    OfflineError,
    PipelineError,
    RateLimitedError,
    ServiceUnavailableError,
    StageTimeoutError,
    SubtitleParseError,
    TransientError,
    UnsupportedSourceError,
)
from ..netguard import check_scheme, check_url, printable, printable_errors

log = logging.getLogger(__name__)

MEDIA_EXTENSIONS = frozenset(
    "mp4 m4v mkv webm mov avi wmv flv mpg mpeg ts mts 3gp ogv "
    "m4a mp3 wav oga ogg opus flac aac wma aiff aif amr".split()
)
SUBTITLE_EXTENSIONS = {".srt": "srt", ".vtt": "vtt", ".txt": "txt"}
SUBTITLE_FORMAT_PREFERENCE = ("vtt", "srt", "json3")
MAX_SUBTITLE_BYTES = 20 * 1024 * 1024
_HASH_CHUNK = 1024 * 1024
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_GENERIC_HINT = (
    "yt-dlp's generic extractor (which reads arbitrary web pages) is disabled for safety, so only "
    "sites with a dedicated yt-dlp extractor (YouTube, Bilibili, Vimeo, ...) can be fetched. "
    "In a trusted setup, set VIDEOMAP_ALLOW_GENERIC_EXTRACTOR=true to allow it."
)


@dataclass
class FetchOptions(Record):
    offline: bool = False
    # regexes matched (full match) against subtitle language codes, in order of preference
    subtitle_langs: list[str] = field(default_factory=lambda: ["en", "en-.*", "zh-Hans", "zh.*"])
    allow_private_addresses: bool = False
    allow_generic_extractor: bool = False
    max_playlist_items: int = 50
    media_dir: str = "data/media"
    download_audio: bool = True
    socket_timeout: float = 20.0


# ---------------------------------------------------------------------- sources
@printable_errors
def classify_source(source: str) -> str:
    """``"url"`` | ``"media"`` | ``"subtitle"`` | ``"transcript"`` | ``"list"``.

    Local paths must exist; anything else raises InvalidSourceError.
    """
    text = source.strip()
    if not text:
        raise InvalidSourceError("The source is empty.", source=source)
    if text.startswith("@"):
        return "list"
    if _URL_RE.match(text) and not re.match(r"^[A-Za-z]:[\\/]", text):  # not a Windows drive
        return "url"
    path = Path(text).expanduser()
    if not path.exists():
        hint = ""
        if "/" in text and "." in text.split("/", 1)[0]:
            hint = " (for a web address, include https://)"
        raise InvalidSourceError(f"No such file: {text}{hint}", source=source)
    if path.is_dir():
        raise InvalidSourceError(f"{text} is a folder; give a file, a URL or an @list.txt file.", source=source)
    suffix = path.suffix.lower()
    if suffix in (".srt", ".vtt"):
        return "subtitle"
    if suffix == ".txt":
        return "transcript"
    guessed = mimetypes.guess_type(path.name)[0] or ""
    if suffix.lstrip(".") in MEDIA_EXTENSIONS or guessed.startswith(("audio/", "video/")):
        return "media"
    raise InvalidSourceError(
        f"Not a URL or a supported file type: {text}. Give a video/playlist URL, an audio/video file, "
        "a .srt/.vtt subtitle file, a .txt transcript or @list.txt.",
        source=source,
    )


@printable_errors
def expand_source_lists(sources: Sequence[str]) -> list[tuple[str, PipelineError | None]]:
    """Each source, with ``@list.txt`` entries replaced by their lines; a bad list is reported
    as ``(entry, error)`` and the rest go on. Blank entries are dropped."""
    out: list[tuple[str, PipelineError | None]] = []
    for source in sources:
        source = source.strip()
        if not source:
            continue
        if source.startswith("@"):
            try:
                out.extend((s, None) for s in read_source_list(source[1:]))
            except PipelineError as exc:
                out.append((source, exc))
        else:
            out.append((source, None))
    return out


def read_source_list(path: str) -> list[str]:
    """Sources in a list file, one a line; blank lines and ``#`` comments skipped.

    ``path`` may carry the leading ``@``. A line with control characters (a binary
    file that happens to decode) refuses the whole list: such a "source" would only be
    echoed to the terminal, escape sequences and all.
    """
    name = path.strip()
    if name.startswith("@"):
        name = name[1:]
    try:
        text = Path(name).expanduser().read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InvalidSourceError(f"No such list file: {name}", source=path) from exc
    except IsADirectoryError as exc:
        raise InvalidSourceError(f"{name} is a folder, not a list file.", source=path) from exc
    except UnicodeDecodeError as exc:
        raise InvalidSourceError(f"The list file {name} is not UTF-8 text.", source=path) from exc
    except OSError as exc:
        raise InvalidSourceError(f"Cannot read the list file {name}: {exc.strerror or exc}", source=path) from exc
    sources = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            if not line.replace("\t", " ").isprintable():
                raise InvalidSourceError(
                    f"The list file {name} is not a plain-text list of sources: line {number} holds control "
                    f"characters ({printable(line[:80])}). Give one URL or file path per line.",
                    source=path,
                )
            sources.append(line)
    return sources


@printable_errors
def fetch_source(source: str, options: FetchOptions) -> list[FetchedVideo]:
    """Fetch one source; a playlist/channel gives several videos (same ``source``)."""
    kind = classify_source(source)
    if kind == "list":  # the caller expands @lists; one reaching here was named inside a list
        raise InvalidSourceError(
            f"{source.strip()} names a list file, and a list of sources may not name another list. "
            f"Put the sources of {source.strip()[1:]} into this list (one per line) or give it on its own.",
            source=source,
        )
    if kind == "media":
        return [_fetch_media_file(source)]
    if kind in ("subtitle", "transcript"):
        return [_fetch_text_file(source)]
    check_scheme(source)  # ftp:, javascript:, file: ... are refused in every mode, not for being offline
    if options.offline:
        raise OfflineError(
            f"{source} needs the network; offline mode is on. Turn it off (VIDEOMAP_OFFLINE=false) "
            "or give a local media, subtitle or transcript file.",
            source=source,
        )
    return _fetch_url(source, options)


# ------------------------------------------------------------------ local files
def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _media_duration(path: Path) -> float | None:
    """Container duration in seconds from the file header (PyAV), or None."""
    try:
        import av

        with av.open(str(path), metadata_errors="ignore") as container:
            if container.duration:
                return container.duration / av.time_base
            streams = [s for s in container.streams if s.duration and s.time_base]
            if streams:
                return float(streams[0].duration * streams[0].time_base)
    except Exception as exc:  # optional; transcription reports undecodable media
        log.debug("No duration for %s: %s", path, exc)
    return None


def _fetch_media_file(source: str) -> FetchedVideo:
    path = Path(source.strip()).expanduser().resolve()
    try:
        size = path.stat().st_size
        if size == 0:
            raise CorruptMediaError(f"The media file {path.name} is empty (0 bytes).", source=source)
        content_hash = _hash_file(path)
    except OSError as exc:
        raise InvalidSourceError(f"Cannot read {source}: {exc.strerror or exc}", source=source) from exc
    return FetchedVideo(
        source=source,
        video_id=f"file:{content_hash[:16]}",
        platform="file",
        title=path.name,
        duration=_media_duration(path),
        audio_path=str(path),
        content_hash=content_hash,
        metadata={"size_bytes": size},
    )


def decode_text(data: bytes, name: str, *, source: str | None = None) -> str:
    """Decode subtitle/transcript bytes: UTF-8/UTF-16 with BOM, UTF-8, then Latin-1.

    Raises SubtitleParseError for empty or binary data.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise SubtitleParseError(f"{name} claims to be UTF-16 but cannot be decoded.", source=source) from exc
    else:
        if b"\x00" in data:
            raise SubtitleParseError(f"{name} looks like a binary file, not subtitles or text.", source=source)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    controls = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f") or 0x7F <= ord(ch) < 0xA0)
    if controls > max(2, len(text) // 100):
        raise SubtitleParseError(f"{name} looks like a binary file, not subtitles or text.", source=source)
    if not text.strip():
        raise SubtitleParseError(f"{name} is empty.", source=source)
    return text


def _fetch_text_file(source: str) -> FetchedVideo:
    path = Path(source.strip()).expanduser().resolve()
    try:
        size = path.stat().st_size
        if size > MAX_SUBTITLE_BYTES:
            raise SubtitleParseError(
                f"{path.name} is {size // (1024 * 1024)} MB, too large for a subtitle or transcript file.",
                source=source,
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidSourceError(f"Cannot read {source}: {exc.strerror or exc}", source=source) from exc
    text = decode_text(data, path.name, source=source)
    content_hash = hashlib.sha256(data).hexdigest()
    return FetchedVideo(
        source=source,
        video_id=f"file:{content_hash[:16]}",
        platform="file",
        title=path.name,
        subtitle_text=text,
        subtitle_format=SUBTITLE_EXTENSIONS[path.suffix.lower()],
        subtitle_kind="file",
        content_hash=content_hash,
    )


# ------------------------------------------------------------ guarded yt-dlp
class _BlockedRequest(RequestError):
    """A request the SSRF guard refused; ``cause`` is the BlockedSourceError."""


def _guard(url: str, allow_private: bool) -> None:
    if url.lower().startswith("data:"):  # inline data: no network involved
        return
    try:
        check_url(url, allow_private=allow_private)
    except PipelineError as exc:
        raise _BlockedRequest(exc.message, cause=exc) from exc


class _GuardProcessor(urllib.request.BaseHandler):
    """urllib pre-processor: runs for the first request and for every redirect."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def _check(self, req: urllib.request.Request) -> urllib.request.Request:
        _guard(req.full_url, self.allow_private)
        return req

    http_request = https_request = ftp_request = _check


class UrllibRH(_YtdlpUrllibRH):
    """yt-dlp's urllib handler with the SSRF guard (keeps the RH_KEY ``Urllib``)."""

    allow_private = False

    def _create_instance(self, *args: Any, **kwargs: Any) -> Any:
        opener = super()._create_instance(*args, **kwargs)
        opener.add_handler(_GuardProcessor(self.allow_private))
        return opener


class _GuardedYoutubeDL(YoutubeDL):
    """YoutubeDL whose every request (and redirect) passes the SSRF guard.

    Only the guarded urllib handler is installed: the requests, curl_cffi and
    websockets handlers follow redirects on their own, out of the guard's reach.
    """

    def __init__(self, params: dict[str, Any], *, allow_private: bool) -> None:
        self._allow_private = allow_private
        super().__init__(params)

    def urlopen(self, req: Any) -> Any:
        url = req if isinstance(req, str) else getattr(req, "url", None) or getattr(req, "full_url", "")
        _guard(str(url), self._allow_private)
        return super().urlopen(req)

    def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
        director = super().build_request_director([UrllibRH], preferences)
        for handler in director.handlers.values():
            handler.allow_private = self._allow_private
        return director


class _YtdlpLog:
    """yt-dlp's ``logger`` option: everything to our logger, nothing to stdout.

    yt-dlp logs errors before raising them; we raise our own error, so they are
    logged here at warning level only.
    """

    @staticmethod
    def _clean(msg: str) -> str:
        return _ANSI_RE.sub("", str(msg))

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", self._clean(msg))

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", self._clean(msg))

    def warning(self, msg: str) -> None:
        log.warning("yt-dlp: %s", self._clean(msg))

    def error(self, msg: str) -> None:
        log.warning("yt-dlp: %s", self._clean(msg))


def _ydl_params(options: FetchOptions, platform_prefix: str = "%(extractor)s") -> dict[str, Any]:
    media_dir = str(Path(options.media_dir).expanduser().resolve())
    return {
        "quiet": True,
        "noprogress": True,
        "color": "never",
        "logger": _YtdlpLog(),
        "socket_timeout": options.socket_timeout,
        "allowed_extractors": ["default"] if options.allow_generic_extractor else ["default", "-generic"],
        "enable_file_urls": False,
        "extract_flat": "in_playlist",
        "playlistend": max(1, options.max_playlist_items),
        "noplaylist": True,  # watch?v=X&list=Y means the video; playlist URLs still expand
        "format": "bestaudio/best",
        "ignore_no_formats_error": True,  # subtitles may be all we need
        "retries": 2,
        "fragment_retries": 2,
        "extractor_retries": 1,
        "hls_prefer_native": True,  # keep HLS inside the guarded HTTP handler, not ffmpeg
        "fixup": "never",
        "restrictfilenames": True,
        "paths": {"home": media_dir},
        "outtmpl": {"default": f"{platform_prefix}_%(id)s.%(ext)s"},
    }


# ---------------------------------------------------------------- URL sources
def _fetch_url(source: str, options: FetchOptions) -> list[FetchedVideo]:
    url = source.strip()
    check_url(url, allow_private=options.allow_private_addresses)
    try:
        with _GuardedYoutubeDL(_ydl_params(options), allow_private=options.allow_private_addresses) as ydl:
            info = _extract(ydl, url, options, source)
            if info.get("_type") in ("playlist", "multi_video"):
                return _fetch_playlist(ydl, source, info, options)
            return [_video_from_info(ydl, source, info, options, {})]
    except PipelineError:
        raise
    except Exception as exc:  # never let a yt-dlp exception escape
        raise _map_error(exc, source, options) from exc


def _extract(ydl: YoutubeDL, url: str, options: FetchOptions, source: str) -> dict[str, Any]:
    try:
        info = ydl.extract_info(url, download=False)
    except PipelineError:
        raise
    except Exception as exc:
        raise _map_error(exc, source, options) from exc
    if not info:
        raise DeterministicError(f"yt-dlp returned no information for {url}.", source=source)
    return ydl.sanitize_info(info)


def _resolve_entry(ydl: YoutubeDL, entry: dict[str, Any], options: FetchOptions, source: str) -> dict[str, Any]:
    if entry.get("_type") in ("url", "url_transparent"):
        try:
            resolved = ydl.process_ie_result(dict(entry), download=False)
        except PipelineError:
            raise
        except Exception as exc:
            raise _map_error(exc, source, options) from exc
        if not resolved:
            raise DeterministicError(f"yt-dlp returned no information for {entry.get('url')}.", source=source)
        return ydl.sanitize_info(resolved)
    return entry


def _iter_entries(
    ydl: YoutubeDL, info: dict[str, Any], options: FetchOptions, source: str, depth: int = 0
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | PipelineError, str]]:
    """(playlist info, resolved video info or the error, entry label), nested playlists flattened."""
    for entry in info.get("entries") or []:
        if entry is None:
            yield info, DeterministicError("yt-dlp could not read this playlist entry.", source=source), "?"
            continue
        label = str(entry.get("url") or entry.get("webpage_url") or entry.get("id") or "?")
        try:
            resolved = _resolve_entry(ydl, entry, options, source)
        except PipelineError as exc:
            yield info, exc, label
            continue
        if resolved.get("_type") in ("playlist", "multi_video"):
            if depth >= 2:
                yield info, UnsupportedSourceError("Playlist nested too deeply.", source=source), label
                continue
            yield from _iter_entries(ydl, resolved, options, source, depth + 1)
        else:
            yield info, resolved, label


def _fetch_playlist(
    ydl: YoutubeDL, source: str, info: dict[str, Any], options: FetchOptions
) -> list[FetchedVideo]:
    videos: list[FetchedVideo] = []
    failures: list[tuple[str, PipelineError]] = []
    for playlist, entry, label in _iter_entries(ydl, info, options, source):
        if len(videos) + len(failures) >= options.max_playlist_items:
            log.info("%s: stopped at max_playlist_items=%d", source, options.max_playlist_items)
            break
        if isinstance(entry, PipelineError):
            error: PipelineError = entry
        else:
            playlist_meta = {"playlist": playlist.get("title"), "playlist_id": playlist.get("id")}
            try:
                videos.append(_video_from_info(ydl, source, entry, options, playlist_meta))
                continue
            except PipelineError as exc:
                error = exc
        log.warning("%s: playlist entry %s failed: %s: %s", source, label, error.type_name, error.message)
        failures.append((label, error))
    if not videos and not failures:
        raise InvalidSourceError(f"The playlist {source} has no videos.", source=source)
    if not videos:
        first = failures[0][1]
        raise type(first)(
            f"All {len(failures)} videos of the playlist failed; the first: {first.message}", source=source
        )
    if failures:
        summary = [{"entry": label, "error": err.type_name, "message": err.message} for label, err in failures[:5]]
        for video in videos:
            video.metadata["playlist_failed_count"] = len(failures)
            video.metadata["playlist_failures"] = summary
    return videos


def _video_from_info(
    ydl: YoutubeDL, source: str, info: dict[str, Any], options: FetchOptions, extra_meta: dict[str, Any]
) -> FetchedVideo:
    platform = str(info.get("extractor_key") or info.get("ie_key") or info.get("extractor") or "unknown").lower()
    video_key = str(info.get("id") or "")
    if not video_key:
        raise DeterministicError(f"yt-dlp gave no video id for {source}.", source=source)
    metadata = {
        key: info.get(key)
        for key in ("uploader", "channel", "channel_id", "upload_date")
        if info.get(key) is not None
    }
    metadata.update({k: v for k, v in extra_meta.items() if v is not None})
    duration = info.get("duration")
    video = FetchedVideo(
        source=source,
        video_id=f"{platform}:{video_key}",
        platform=platform,
        title=str(info.get("title") or video_key),
        url=info.get("webpage_url") or info.get("original_url") or source.strip(),
        duration=float(duration) if isinstance(duration, (int, float)) else None,
        language=info.get("language"),
        metadata=metadata,
    )
    for kind, language, track in choose_subtitles(info, options.subtitle_langs):
        try:
            text = _download_subtitle(ydl, track, options, source)
        except (BlockedSourceError, TransientError):
            raise
        except PipelineError as exc:
            log.warning("%s: %s subtitles (%s) failed, trying the next: %s", video.video_id, kind, language, exc)
            continue
        video.subtitle_text = text
        video.subtitle_format = track["ext"]
        video.subtitle_kind = kind
        video.language = language
        video.content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return video
    if not options.download_audio:
        log.warning("%s: no subtitles in %s and audio download is off", video.video_id, options.subtitle_langs)
        return video
    audio = _download_audio(ydl, info, platform, options, source)
    video.audio_path = str(audio)
    video.content_hash = _hash_file(audio)
    return video


def choose_subtitles(info: dict[str, Any], langs: list[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Subtitle tracks to try, best first, as (kind, language, track).

    Manual subtitles before automatic captions; within each, languages in the
    order of ``langs`` (regexes, full match); format vtt > srt > json3.
    """
    seen: set[tuple[str, str]] = set()
    for kind, key in (("manual", "subtitles"), ("automatic", "automatic_captions")):
        tracks = info.get(key) or {}
        for pattern in langs:
            for language, formats in tracks.items():
                if language == "live_chat" or (kind, language) in seen:
                    continue
                try:
                    matched = re.fullmatch(pattern, language)
                except re.error:
                    matched = pattern == language
                if not matched:
                    continue
                seen.add((kind, language))
                track = _pick_track(formats or [])
                if track is not None:
                    yield kind, language, track


def _pick_track(formats: list[dict[str, Any]]) -> dict[str, Any] | None:
    for ext in SUBTITLE_FORMAT_PREFERENCE:
        for track in formats:
            if track.get("ext") == ext and (track.get("url") or track.get("data")):
                return track
    return None


def _download_subtitle(ydl: YoutubeDL, track: dict[str, Any], options: FetchOptions, source: str) -> str:
    if track.get("data"):
        return str(track["data"])
    url = str(track["url"])
    check_url(url, allow_private=options.allow_private_addresses)
    try:
        with ydl.urlopen(url) as response:
            data = response.read(MAX_SUBTITLE_BYTES + 1)
    except Exception as exc:
        raise _map_error(exc, source, options) from exc
    if len(data) > MAX_SUBTITLE_BYTES:
        raise SubtitleParseError(f"The subtitles at {url} are larger than {MAX_SUBTITLE_BYTES} bytes.", source=source)
    return decode_text(data, f"The subtitles at {url}", source=source)


def _download_audio(
    ydl: YoutubeDL, info: dict[str, Any], platform: str, options: FetchOptions, source: str
) -> Path:
    formats = info.get("formats") or ([info] if info.get("url") else [])
    if not formats:
        raise UnsupportedSourceError(
            f"{source} has no subtitles in the preferred languages ({', '.join(options.subtitle_langs)}) "
            "and no downloadable audio.",
            source=source,
        )
    for fmt in [info, *(info.get("requested_formats") or [])]:
        if fmt.get("url"):
            check_url(str(fmt["url"]), allow_private=options.allow_private_addresses)
    Path(options.media_dir).expanduser().mkdir(parents=True, exist_ok=True)
    params = _ydl_params(options, platform_prefix=re.sub(r"[^a-z0-9]+", "_", platform) or "video")
    try:
        with _GuardedYoutubeDL(params, allow_private=options.allow_private_addresses) as downloader:
            done = downloader.process_ie_result(dict(info), download=True)
            downloads = (done or {}).get("requested_downloads") or []
            filepath = downloads[0].get("filepath") if downloads else None
            if not filepath:
                filepath = downloader.prepare_filename(done or info)
    except PipelineError:
        raise
    except Exception as exc:
        raise _map_error(exc, source, options) from exc
    path = Path(filepath).resolve()
    if not path.is_file() or path.stat().st_size == 0:
        raise CorruptMediaError(f"The audio download for {source} produced no file.", source=source)
    return path


# ---------------------------------------------------------------- errors
def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps (exc_info, cause, __cause__, __context__)."""
    seen: set[int] = set()
    queue: list[Any] = [exc]
    while queue:
        current = queue.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        exc_info = getattr(current, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            queue.append(exc_info[1])
        queue.extend([getattr(current, "cause", None), current.__cause__, current.__context__])


def clean_message(message: str) -> str:
    """yt-dlp's message without ANSI colours, ``ERROR:`` and the bug-report boilerplate."""
    text = _ANSI_RE.sub("", str(message)).strip()
    text = re.sub(r"^(ERROR|WARNING):\s*", "", text)
    text = re.split(r";?\s*please report this issue on", text, maxsplit=1, flags=re.IGNORECASE)[0]
    return text.strip().rstrip(";").strip()


_UNAVAILABLE_RE = re.compile(
    r"private video|video unavailable|is unavailable|not available|has been removed|been deleted|"
    r"has been terminated|does not exist|no longer available|invalid|incomplete youtube id|is not a valid|"
    r"members[- ]only|confirm your age|age[- ]restricted|copyright|premieres in|not found",
    re.IGNORECASE,
)


def _map_error(exc: BaseException, source: str, options: FetchOptions) -> PipelineError:
    """One of our errors for any yt-dlp (or network) exception."""
    chain = list(_chain(exc))
    for err in chain:
        if isinstance(err, PipelineError):
            return err
    message = clean_message(str(exc)) or type(exc).__name__
    for err in chain:
        if isinstance(err, HTTPError):
            status = err.status
            if status == 429:
                return RateLimitedError(
                    f"The site is rate-limiting requests (HTTP 429); try later. {message}", source=source
                )
            if status >= 500:
                return ServiceUnavailableError(
                    f"The site had a server error (HTTP {status}); try later. {message}", source=source
                )
            if status in (401, 403, 404, 410):
                return InvalidSourceError(
                    f"The video or page is not accessible (HTTP {status}); check the URL and that the video is public. "
                    f"{message}",
                    source=source,
                )
            return DeterministicError(f"HTTP {status} while fetching {source}: {message}", source=source)
    for err in chain:
        if isinstance(err, TimeoutError) or "timed out" in str(err).lower():
            return StageTimeoutError(
                f"The site did not answer within {options.socket_timeout:g} s; try later. {message}", source=source
            )
    for err in chain:
        if isinstance(err, (TransportError, ConnectionError)):
            return ServiceUnavailableError(f"Could not reach the site; try later. {message}", source=source)
    if "no suitable extractor" in message.lower() or any(isinstance(e, UnsupportedError) for e in chain):
        if options.allow_generic_extractor:
            return UnsupportedSourceError(
                f"Unsupported URL: {source.strip()}. No yt-dlp extractor knows this site and no video was found "
                "on the page.",
                source=source,
            )
        return UnsupportedSourceError(f"Unsupported URL: {source.strip()}. {_GENERIC_HINT}", source=source)
    if "not a bot" in message.lower():
        return RateLimitedError(
            f"The site asks to confirm this is not a bot (rate limiting); try later. {message}", source=source
        )
    if any(isinstance(e, GeoRestrictedError) for e in chain):
        return InvalidSourceError(f"The video is not available from this location. {message}", source=source)
    if _UNAVAILABLE_RE.search(message) and any(isinstance(e, (ExtractorError, YoutubeDLError)) for e in chain):
        return InvalidSourceError(
            f"The video is unavailable, private, removed or the id is invalid: {message}", source=source
        )
    if isinstance(exc, YoutubeDLError) or any(isinstance(e, YoutubeDLError) for e in chain):
        return DeterministicError(message, source=source)
    return DeterministicError(f"Fetching {source.strip()} failed: {type(exc).__name__}: {message}", source=source)
