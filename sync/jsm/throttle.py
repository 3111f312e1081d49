"""A per-site token bucket: shared by every process through Redis when given a client, else in-process.

A 429 also sets a shared pause, so every worker stops hitting the site until `Retry-After` has
passed instead of each one discovering the limit on its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

# Returns the milliseconds to wait; 0 means a token was taken. Uses the Redis server's clock so
# processes on machines with skewed clocks agree.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local d = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'pause')
local tokens, ts, pause = tonumber(d[1]) or burst, tonumber(d[2]) or now, tonumber(d[3]) or 0
if now < pause then return pause - now end
tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], 600000)
return wait
"""
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'pause')) or 0
if until_ms > cur then redis.call('HSET', KEYS[1], 'pause', until_ms) end
redis.call('PEXPIRE', KEYS[1], 600000)
return until_ms
"""


class Throttle:
    """Token bucket of `rate` calls per second with bursts of `burst`, per site key."""

    def __init__(self, key: str, rate: float = 10.0, burst: int = 20, redis_client: redis.Redis | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("throttle rate must be > 0 and burst >= 1")
        self.key, self.rate, self.burst = f"companion:jsm:throttle:{key}", rate, burst
        self._redis = redis_client
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens, self._ts, self._pause_until = float(burst), time.monotonic(), 0.0
        self.waited = 0.0  # seconds this process spent waiting, for metrics and tests
        if redis_client is not None:
            self._acquire_script = redis_client.register_script(_ACQUIRE)
            self._pause_script = redis_client.register_script(_PAUSE)

    def acquire(self) -> float:
        """Block until a call may go out; returns the seconds waited."""
        waited = 0.0
        while True:
            wait_s = self._try()
            if wait_s <= 0:
                self.waited += waited
                return waited
            self._sleep(wait_s)
            waited += wait_s

    def pause(self, seconds: float) -> None:
        """Hold every caller of this site back for `seconds` (after a 429)."""
        if seconds <= 0:
            return
        if self._redis is not None:
            try:
                self._pause_script(keys=[self.key], args=[int(seconds * 1000)])
                return
            except redis.RedisError as exc:
                log.warning("throttle pause not shared (Redis unavailable: %s)", exc)
        with self._lock:
            self._pause_until = max(self._pause_until, time.monotonic() + seconds)

    def _try(self) -> float:
        if self._redis is not None:
            try:
                return int(self._acquire_script(keys=[self.key], args=[self.rate, self.burst])) / 1000
            except redis.RedisError as exc:
                # Redis down must not stop JSM calls; fall back to this process's own bucket.
                log.warning("throttle falling back to in-process bucket (Redis unavailable: %s)", exc)
        with self._lock:
            now = time.monotonic()
            if now < self._pause_until:
                return self._pause_until - now
            self._tokens = min(self.burst, self._tokens + (now - self._ts) * self.rate)
            self._ts = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate
