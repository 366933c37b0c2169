"""The shared store for large artefacts (downloaded audio, uploaded media).

Stage tasks carry a *reference* to an artefact, never its bytes: the broker and the
job's options stay small. By default the store is the media folder itself and a
reference is the file's absolute path (one machine, or every host mounting the same
folder). With ``VIDEOMAP_ARTEFACT_STORE`` set to an fsspec URL (``s3://bucket/prefix``
on S3 or MinIO with ``s3fs`` installed, ``file:///mnt/shared``, ...) the host that made
the file uploads it and a reference is that URL; a host that needs it copies it into
its local ``<media_dir>/artefacts`` once.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from pathlib import Path

logger = logging.getLogger(__name__)


class ArtefactStore:
    def __init__(self, url: str = "", local_dir: str | Path = "data/media") -> None:
        self.url = url.rstrip("/")
        self.local_dir = Path(local_dir)

    @property
    def is_shared_url(self) -> bool:
        return "://" in self.url

    def put(self, path: str | Path) -> str:
        """A reference to ``path`` that any host of the store can open."""
        path = Path(path)
        if not self.is_shared_url:
            return str(path.resolve())
        import fsspec

        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        url = f"{self.url}/{digest}/{path.name}"
        fs, target = fsspec.core.url_to_fs(url)
        if not fs.exists(target) or fs.size(target) != path.stat().st_size:
            fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            fs.put_file(str(path), target)
            logger.info("artefact stored", extra={"event": "artefact_put", "url": url})
        return url

    def local_path(self, reference: str) -> Path:
        """A local file for ``reference`` (a path is itself; a URL is copied here once)."""
        if "://" not in reference:
            return Path(reference)
        import fsspec

        digest = hashlib.sha256(reference.encode()).hexdigest()[:16]
        local = self.local_dir / "artefacts" / digest / reference.rsplit("/", 1)[-1]
        if not local.exists():
            local.parent.mkdir(parents=True, exist_ok=True)
            partial = local.with_suffix(local.suffix + ".part")
            with fsspec.open(reference, "rb") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            partial.replace(local)
        return local

    def remove_local_copies(self, older_than_s: float) -> int:
        """Delete local copies of shared artefacts not used for ``older_than_s`` (Beat's clean-up)."""
        root = self.local_dir / "artefacts"
        if not root.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        for folder in root.iterdir():
            files = [f for f in folder.rglob("*") if f.is_file()]
            if all(f.stat().st_atime < cutoff and f.stat().st_mtime < cutoff for f in files):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed


def store_from_settings(settings) -> ArtefactStore:
    return ArtefactStore(settings.artefact_store, settings.media_dir)
