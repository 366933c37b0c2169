"""Shared fixtures. Every test runs with the network closed except loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path(__file__).parent / "data"
_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            ip = None
        if ip is None or not ip.is_loopback:
            raise OSError(f"test network guard: connection to {address!r} refused (tests stay offline)")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield


@pytest.fixture
def settings(tmp_path):
    from pipeline.config import Settings

    return Settings(
        db_path=tmp_path / "wb.duckdb", cache_dir=tmp_path / "cache", media_dir=tmp_path / "media",
        offline=True, job_workers=2, io_workers=2,
    )


@pytest.fixture
def data_dir() -> Path:
    return DATA
