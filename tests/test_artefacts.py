"""The shared artefact store: a path by default, an fsspec URL when configured."""

from __future__ import annotations

import os
import time

import pytest

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


@pytest.fixture
def s3(monkeypatch):
    """A loopback S3 endpoint and a new bucket (its name), with this process's AWS settings
    pointing at it (moto keeps buckets per process, so each test makes its own)."""
    import uuid

    import fsspec
    from stubs import S3Stub

    s3fs = fsspec.get_filesystem_class("s3")
    with S3Stub() as stub:
        for key, value in stub.env.items():
            monkeypatch.setenv(key, value)
        s3fs.clear_instance_cache()  # clients made for an earlier test's endpoint
        bucket = f"artefacts-{uuid.uuid4().hex[:12]}"
        fsspec.filesystem("s3").mkdir(bucket)
        yield bucket
    s3fs.clear_instance_cache()


def test_s3_store_uploads_to_the_bucket_and_another_host_downloads_it(tmp_path, s3):
    import fsspec

    audio = tmp_path / "host-a" / "talk.wav"
    audio.parent.mkdir()
    audio.write_bytes(b"RIFF" + os.urandom(4096))
    reference = ArtefactStore(f"s3://{s3}/media", tmp_path / "host-a" / "media").put(audio)
    assert reference.startswith(f"s3://{s3}/media/") and reference.endswith("/talk.wav")
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    assert fs.size(reference) == audio.stat().st_size
    local = ArtefactStore(f"s3://{s3}/media", tmp_path / "host-b" / "media").local_path(reference)
    assert local.read_bytes() == audio.read_bytes()
    assert str(local).startswith(str(tmp_path / "host-b" / "media" / "artefacts"))


@pytest.mark.slow
def test_a_recording_is_transcribed_through_the_s3_store(tmp_path, s3):
    """A job whose audio goes through ``VIDEOMAP_ARTEFACT_STORE=s3://…``: the fetch stage
    uploads it, the transcribe stage reads it back from the bucket."""
    import fsspec

    from pipeline.api import Workbench
    from pipeline.config import Settings
    from tests.media import SPEECH

    media = tmp_path / "media"
    bench = Workbench(Settings(db_path=tmp_path / "wb.duckdb", cache_dir=tmp_path / "cache", media_dir=media,
                               offline=True, artefact_store=f"s3://{s3}/media"))
    try:
        [outcome] = bench.submit([str(SPEECH)], bench.options(offline=True))
        bench.wait([outcome.job.job_id], timeout=180)
        job = bench.job(outcome.job.job_id)
        assert job.status == "done", job.error
        assert {p["location"] for p in bench.places([job.video_id])} >= {"Paris"}
    finally:
        bench.shutdown()
    stored = fsspec.filesystem("s3", skip_instance_cache=True).find(f"{s3}/media")
    assert [path.rsplit("/", 1)[-1] for path in stored] == [SPEECH.name]
    copies = list((media / "artefacts").rglob(SPEECH.name))
    assert len(copies) == 1 and copies[0].read_bytes() == SPEECH.read_bytes()
