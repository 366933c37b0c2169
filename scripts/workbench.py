"""Start the workbench: one coordinator for the database, the HTTP API, then the Streamlit app.

All three live in this one process (``scripts/run.sh`` runs it): the coordinator owns the
DuckDB file, the job threads and the speech model; the API answers on its own port at once,
before any browser connects; the app's pages use the same coordinator in-process.

    .venv/bin/python scripts/workbench.py [--host H] [--port P] [--api-host H] [--api-port P]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from pipeline.config import Settings
    from pipeline.errors import PipelineError
    from pipeline.logs import configure_logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="the app's address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8501, help="the app's port (default 8501)")
    parser.add_argument("--api-host", help="the API's address (default VIDEOMAP_API_HOST or 127.0.0.1)")
    parser.add_argument("--api-port", type=int, help="the API's port (default VIDEOMAP_API_PORT or 8000)")
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging(log_file=settings.db_path.parent / "logs" / "pipeline.jsonl")
    from pipeline.api import Workbench
    from pipeline.service import ApiServer, register_coordinator

    try:
        bench = Workbench(settings)
    except PipelineError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    try:
        server = ApiServer(bench, host=args.api_host, port=args.api_port).start()
    except PipelineError as exc:
        bench.shutdown(wait=False)
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    register_coordinator(bench)
    print(f"workbench API on {server.url} (docs: {server.url}/docs); app on http://{args.host}:{args.port}",
          flush=True)
    try:
        from streamlit.web import bootstrap

        flags = {"server_address": args.host, "server_port": args.port, "server_headless": True,
                 "browser_gatherUsageStats": False}
        bootstrap.load_config_options(flags)
        bootstrap.run(str(ROOT / "app.py"), False, [], flags)
    finally:
        server.stop()
        register_coordinator(None)
        bench.shutdown(wait=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
