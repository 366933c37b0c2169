import subprocess
import sys

import pytest

from pipeline.errors import DatabaseLockedError
from pipeline.storage import SCHEMA_VERSION, Storage


def test_schema_is_versioned_and_reopen_is_idempotent(tmp_path):
    db = tmp_path / "x.duckdb"
    s = Storage(db)
    s.close()
    s = Storage(db)
    rows = s._all("SELECT version FROM schema_version")
    assert [r["version"] for r in rows] == list(range(1, SCHEMA_VERSION + 1))
    s.close()


def test_second_process_gets_a_clear_message(tmp_path):
    db = tmp_path / "locked.duckdb"
    holder = Storage(db)
    try:
        code = (
            "from pipeline.storage import Storage\n"
            "from pipeline.errors import DatabaseLockedError\n"
            f"try:\n    Storage({str(db)!r})\nexcept DatabaseLockedError as e:\n    print(e.message)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert "in use by another workbench process" in out.stdout
        assert "--db PATH" in out.stdout
        assert "Traceback" not in out.stderr
    finally:
        holder.close()


def test_cli_reports_locked_database_without_traceback(tmp_path):
    db = tmp_path / "locked.duckdb"
    holder = Storage(db)
    try:
        out = subprocess.run([sys.executable, "-m", "pipeline", "jobs", "--db", str(db)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 1
        assert "in use by another workbench process" in out.stderr
        assert "Traceback" not in out.stderr
    finally:
        holder.close()


def test_newer_schema_refused(tmp_path):
    db = tmp_path / "new.duckdb"
    s = Storage(db)
    s._exec("INSERT INTO schema_version VALUES (?, 0)", [SCHEMA_VERSION + 5])
    s.close()
    with pytest.raises(Exception, match="newer than this workbench"):
        Storage(db)


def test_geocode_cache_roundtrip(tmp_path):
    from pipeline.datatypes import GeoHit

    s = Storage(tmp_path / "c.duckdb")
    assert s.geocode_cache_get("k") is None
    s.geocode_cache_put("k", "gazetteer", "Lisbon", GeoHit(38.7, -9.1, "geonames:2267057", "Lisbon", "PT"))
    found, hit = s.geocode_cache_get("k")
    assert found and hit.gazetteer_id == "geonames:2267057"
    s.geocode_cache_put("n", "gazetteer", "Nowhere", None)
    assert s.geocode_cache_get("n") == (False, None)
    s.close()


def test_lock_error_class_is_deterministic():
    from pipeline.errors import DeterministicError

    assert issubclass(DatabaseLockedError, DeterministicError)
