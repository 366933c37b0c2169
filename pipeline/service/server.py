"""Running the API beside the coordinator, and finding a running one.

``ApiServer`` runs uvicorn on a daemon thread of the coordinator's process (the app's launcher
and ``python -m pipeline serve`` both use it) and writes ``<db>.api.json`` next to the database
with its address, removed on exit. A CLI or notebook that finds the database held reads that
file (``discover``) and talks to the running workbench over HTTP instead.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from ..api import Workbench
from ..config import Settings
from ..errors import ConfigurationError
from ..storage.db import address_file
from .http import create_app

logger = logging.getLogger(__name__)


_coordinator: Workbench | None = None


def register_coordinator(bench: Workbench | None) -> None:
    """Make ``bench`` this process's coordinator, for front doors started later in the same
    process (the Streamlit pages, when ``scripts/run.sh`` started the app beside the API)."""
    global _coordinator
    _coordinator = bench


def current_coordinator(db_path: str | Path | None = None) -> Workbench | None:
    """This process's coordinator (for ``db_path``, when given), or None."""
    bench = _coordinator
    if bench is None:
        return None
    if db_path is not None and Path(db_path).resolve() != bench.storage.path.resolve():
        return None
    return bench


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def discover(db_path: str | Path, *, timeout: float = 2.0) -> str | None:
    """The URL of the running workbench that owns ``db_path``, or None (no file, or a stale one)."""
    path = address_file(db_path)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        url, pid = str(info["url"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if info.get("host") == socket.gethostname() and not _pid_alive(pid):
        return None
    try:
        answer = httpx.get(url.rstrip("/") + "/health", timeout=timeout,
                           headers={"X-API-Key": os.environ.get("VIDEOMAP_API_KEY", "")})
    except httpx.HTTPError:
        return None
    if answer.status_code == 401:
        return url  # it is there; the client will say that a key is needed
    if answer.status_code != 200:
        return None
    try:
        database = answer.json().get("database")
    except ValueError:
        return None
    if database and Path(database).resolve() != Path(db_path).resolve():
        return None
    return url


class ApiServer:
    """uvicorn serving ``create_app(bench)`` on a daemon thread; ``start`` returns once it listens."""

    def __init__(self, bench: Workbench, *, host: str | None = None, port: int | None = None,
                 write_address: bool = True, log_level: str = "warning") -> None:
        settings: Settings = bench.settings
        self.bench = bench
        self.host = host or settings.api_host
        self.port = settings.api_port if port is None else port
        if not is_loopback(self.host) and not settings.api_key:
            raise ConfigurationError(
                f"Refusing to serve the API on {self.host}: off loopback every request needs a key. "
                "Set VIDEOMAP_API_KEY (clients send it as X-API-Key), or bind to 127.0.0.1.")
        self.write_address = write_address
        self.app = create_app(bench)
        self._server = uvicorn.Server(uvicorn.Config(
            self.app, host=self.host, port=self.port, log_level=log_level, access_log=False,
            lifespan="off", ws="websockets-sansio", timeout_graceful_shutdown=2))
        self._server.install_signal_handlers = lambda: None  # the owning process handles signals
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        if self.host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 15.0) -> ApiServer:
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets (else Nagle adds ~40 ms a reply)
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM,
                             socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigurationError(
                f"Cannot serve the API on {self.host}:{self.port} ({exc.strerror}). Is another workbench "
                "running? Choose another port with --port or VIDEOMAP_API_PORT.") from None
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="videomap-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigurationError(f"The API server did not start on {self.url}.")
            time.sleep(0.02)
        if self.write_address:
            self._write_address()
        logger.info("API listening on %s", self.url, extra={"event": "api_start"})
        return self

    def _write_address(self) -> None:
        path = address_file(self.bench.storage.path)
        info: dict[str, Any] = {"url": self.url, "pid": os.getpid(), "host": socket.gethostname(),
                                "database": str(self.bench.storage.path.resolve()), "started_at": time.time()}
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(info), encoding="utf-8")
        tmp.replace(path)

    def stop(self) -> None:
        if self.write_address:
            path = address_file(self.bench.storage.path)
            try:
                if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                    path.unlink()
            except (OSError, ValueError):
                pass
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)


def serve(settings: Settings, *, host: str | None = None, port: int | None = None,
          on_ready: Any = None) -> int:
    """``python -m pipeline serve``: the coordinator and the API, headless, until SIGINT/SIGTERM."""
    bench = Workbench(settings)
    try:
        server = ApiServer(bench, host=host, port=port).start()
    except ConfigurationError:
        bench.shutdown(wait=False)
        raise
    stop = threading.Event()

    def _stop(signum, frame) -> None:
        stop.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    logger.info("workbench service on %s (database %s)", server.url, bench.storage.path)
    try:
        if on_ready is not None:
            on_ready(server)
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
        bench.shutdown(wait=False)
    return 0
