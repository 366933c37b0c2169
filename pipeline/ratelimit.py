"""Request spacing shared by every thread of a process, or by every worker of a cluster.

Celery's own ``rate_limit`` counts per worker, so two geocode workers would each send
Nominatim one request a second. Here a limiter is a named slot clock: ``acquire(name,
interval)`` returns once at least ``interval`` seconds have passed since the slot handed
out before it. In one process the clock is a lock and a float; with
``use_redis(url)`` (what a Celery worker does at start) it is one Redis key per name,
advanced atomically by a Lua script against the Redis server's own clock, so the
spacing holds across processes and hosts.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

logger = logging.getLogger(__name__)

_KEY_PREFIX = "videomap:rate:"

# KEYS[1]: the slot clock (microseconds of the next free slot); ARGV[1]: interval in us.
# Returns how long the caller waits (us) before its slot.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nxt)
redis.call('SET', KEYS[1], tostring(slot + tonumber(ARGV[1])), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 60000)
return slot - now
"""


class LocalLimiter:
    """Slot clocks of one process (threads of the coordinator, or of one worker)."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, name: str, interval_s: float) -> float:
        if interval_s <= 0:
            return 0.0
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(name, 0.0))
            self._next[name] = slot + interval_s
        wait = slot - now
        if wait > 0:
            time.sleep(wait)
        return wait


class RedisLimiter:
    """Slot clocks in Redis: one spacing for all workers together."""

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._script = self._client.register_script(_ACQUIRE)

    def acquire(self, name: str, interval_s: float) -> float:
        if interval_s <= 0:
            return 0.0
        wait_us = int(self._script(keys=[_KEY_PREFIX + name], args=[int(interval_s * 1_000_000)]))
        wait = wait_us / 1_000_000
        if wait > 0:
            time.sleep(wait)
        return wait


_limiter: Any = LocalLimiter()


def use_redis(url: str) -> None:
    """Share the slot clocks through Redis from now on (called by each Celery worker)."""
    global _limiter
    _limiter = RedisLimiter(url)
    logger.info("rate limits shared through %s", url.split("@")[-1])


def use_local() -> None:
    global _limiter
    _limiter = LocalLimiter()


def acquire(name: str, interval_s: float) -> float:
    """Wait for this process's (or the cluster's) next slot of ``name``; returns the wait in s."""
    return _limiter.acquire(name, interval_s)


def is_shared() -> bool:
    return isinstance(_limiter, RedisLimiter)
