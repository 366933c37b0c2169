"""Every setting does something, and the settings fixed in the hardening pass do what they say."""

from __future__ import annotations

from pipeline.storage import Storage


# ------------------------------------------------------------------ quiet output
def test_storage_connections_draw_no_progress_bar(tmp_path) -> None:
    """DuckDB draws a progress bar on stdout for queries over 2 s unless told not to."""
    Storage(tmp_path / "q.duckdb").close()
    for read_only in (False, True):
        storage = Storage(tmp_path / "q.duckdb", read_only=read_only)
        try:
            [(enabled,)] = storage._con.execute("SELECT current_setting('enable_progress_bar')").fetchall()
        finally:
            storage.close()
        assert enabled is False
