"""Uploaded recordings and subtitle files: stored content-addressed under ``<media_dir>/uploads``.

Shared by the Streamlit upload widget and ``POST /api/uploads``. The same bytes always get the
same name (re-uploading hits the cache), and no client-chosen name can leave the folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import InvalidSourceError

UPLOAD_EXTENSIONS = (
    "mp4", "m4v", "mkv", "webm", "mov", "avi", "mpg", "mpeg", "ogv", "m4a", "mp3", "wav", "oga", "ogg",
    "opus", "flac", "aac", "srt", "vtt", "txt",
)


class UploadTooLargeError(InvalidSourceError):
    """An upload is over the configured size limit."""


def upload_name(filename: str) -> str:
    """The uploaded file's own name, made safe: ``<sanitised stem><suffix>``; the suffix must be
    a supported type. It becomes the video's title, so it keeps spaces and brackets."""
    base = Path(filename.replace("\\", "/")).name
    suffix = Path(base).suffix.lower()
    if suffix.lstrip(".") not in UPLOAD_EXTENSIONS:
        raise InvalidSourceError(
            f"Unsupported file type {suffix or '(none)'!r}: upload audio/video ({', '.join(UPLOAD_EXTENSIONS[:17])}) "
            "or a .srt/.vtt subtitle file or a .txt transcript.")
    stem = re.sub(r"[^A-Za-z0-9._ ()-]+", "_", Path(base).stem).strip("._- ")[:60] or "upload"
    return f"{stem}{suffix}"


def store_upload(media_dir: str | Path, filename: str, chunks: Iterable[bytes], *, max_bytes: int) -> Path:
    """Write an upload (streamed in ``chunks``) to ``<media_dir>/uploads/<sha256 prefix>/<name>``.

    The folder is the content's hash, so no client-chosen name can leave it or collide with
    another file. The same bytes uploaded again, under any name, give back the first file: the
    same source, so the stored result is reused and the video keeps its first name. A file over
    ``max_bytes`` is refused without keeping any of it.
    """
    name = upload_name(filename)  # refuse an unsupported type before reading anything
    root = Path(media_dir) / "uploads"
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLargeError(
                        f"{Path(filename).name} is larger than the upload limit of {max_bytes / 1e6:.0f} MB.")
                digest.update(chunk)
                out.write(chunk)
        folder = root / digest.hexdigest()[:16]
        folder.mkdir(exist_ok=True)
        for earlier in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
            if earlier.stat().st_size == size:
                os.unlink(tmp)
                return earlier
        target = folder / name
        os.replace(tmp, target)
        return target
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
