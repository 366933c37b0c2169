"""Every setting does something, and the settings fixed in the hardening pass do what they say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ quiet output
def test_storage_connections_draw_no_progress_bar(tmp_path) -> None:
    """DuckDB draws a progress bar on stdout for queries over 2 s unless told not to.

    Checked in a fresh interpreter: under pytest's capture DuckDB starts with it off.
    """
    code = (
        "import sys; from pipeline.storage import Storage\n"
        "Storage(sys.argv[1]).close()\n"
        "for ro in (False, True):\n"
        "    s = Storage(sys.argv[1], read_only=ro)\n"
        "    print(s._con.execute(\"SELECT current_setting('enable_progress_bar')\").fetchone()[0])\n"
        "    s.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "q.duckdb")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["False", "False"]
