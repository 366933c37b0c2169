"""The shared artefact store: a path by default, an fsspec URL when configured."""

from __future__ import annotations

import os
import time

from pipeline.storage.artefacts import ArtefactStore


def test_default_store_passes_local_paths_through(tmp_path):
    audio = tmp_path / "talk.wav"
    audio.write_bytes(b"RIFF0000")
    store = ArtefactStore("", tmp_path / "media")
    reference = store.put(audio)
    assert reference == str(audio.resolve())
    assert store.local_path(reference) == audio.resolve()


def test_url_store_uploads_once_and_another_host_copies_it_locally(tmp_path):
    shared = tmp_path / "shared"
    audio = tmp_path / "host-a" / "talk.wav"
    audio.parent.mkdir()
    audio.write_bytes(b"RIFF" + os.urandom(2048))
    host_a = ArtefactStore(f"file://{shared}", tmp_path / "host-a" / "media")
    reference = host_a.put(audio)
    assert reference.startswith("file://") and reference.endswith("/talk.wav")
    assert host_a.put(audio) == reference  # same file: same reference, no second upload
    host_b = ArtefactStore(f"file://{shared}", tmp_path / "host-b" / "media")
    local = host_b.local_path(reference)
    assert local.read_bytes() == audio.read_bytes()
    assert str(local).startswith(str(tmp_path / "host-b" / "media"))
    assert host_b.remove_local_copies(older_than_s=3600) == 0  # fresh: kept
    old = time.time() - 7200
    os.utime(local, (old, old))
    assert host_b.remove_local_copies(older_than_s=3600) == 1 and not local.exists()
