"""Real Redis and real Celery workers for the scale-out tests (no mocks of either).

``RedisServer`` runs Debian's redis-server on a free loopback port without persistence;
``Cluster`` starts ``python -m pipeline worker`` / ``beat`` subprocesses against it, each in
its own process group so that a test can ``kill -9`` one, and stops them all at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, folder: Path) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (scripts/test.sh installs Debian's redis-server)")
        self.exe = exe
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
        except redis.exceptions.RedisError:
            return False

    def flush(self) -> None:
        import redis

        redis.Redis(port=self.port).flushall()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


class Cluster:
    """Worker and Beat processes sharing one environment (broker, folders, settings)."""

    def __init__(self, folder: Path, redis_url: str, **settings: object) -> None:
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOMAP_")}
        self.env.update({
            "VIDEOMAP_BROKER_URL": redis_url, "VIDEOMAP_DB_PATH": str(folder / "worker-never-opens.duckdb"),
            "VIDEOMAP_MEDIA_DIR": str(folder / "media"),  # (cache_dir stays the default: the built gazetteer)
            "VIDEOMAP_OFFLINE": "true", "VIDEOMAP_WORKER_HEARTBEAT_S": "0.5", "VIDEOMAP_MAINTENANCE_INTERVAL_S": "1",
            "PYTHONPATH": str(ROOT),
        })
        self.env.update({f"VIDEOMAP_{k.upper()}": str(v) for k, v in settings.items()})
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    def _spawn(self, label: str, args: list[str]) -> subprocess.Popen:
        log = self.folder / f"{label}.log"
        handle = open(log, "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=self.env,
                                   stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[label] = process
        self.logs[label] = log
        return process

    def worker(self, label: str, queues: str, concurrency: int = 1, ready_timeout: float = 90.0) -> subprocess.Popen:
        process = self._spawn(label, ["worker", "--queues", queues, "--concurrency", str(concurrency)])
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if " ready." in self.log(label):
                return process
            if process.poll() is not None:
                raise RuntimeError(f"worker {label} exited:\n{self.log(label)[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"worker {label} not ready:\n{self.log(label)[-3000:]}")

    def beat(self) -> subprocess.Popen:
        return self._spawn("beat", ["beat", "--schedule", str(self.folder / "beat-schedule")])

    def log(self, label: str) -> str:
        return self.logs[label].read_text(encoding="utf-8", errors="replace")

    def kill(self, label: str) -> None:
        """``kill -9`` the worker and its pool processes (the whole process group)."""
        process = self.processes[label]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
