"""Per-site and per-issue token buckets: shared by every process through Redis when given a client, else in-process.

Jira Cloud limits a site with burst buckets and each issue's writes with sliding windows (20 writes
per 2 s, 100 per 30 s; REFERENCE and Atlassian's rate-limiting page). So every call takes a token of
the site's bucket (`jira.rate`), and every write to an issue also one of that issue's bucket, sized to
stay under both windows. The throttle adapts to what the site says: `X-RateLimit-NearLimit` halves the
site's rate for a while (other apps share the budget), and a 429 sets a shared pause - of the site, or
only of the issue when `RateLimit-Reason` names the per-issue limit - so every worker waits out
`Retry-After` instead of each one discovering the limit on its own.
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
local d = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'pause', 'slow')
local tokens, ts, pause = tonumber(d[1]) or burst, tonumber(d[2]) or now, tonumber(d[3]) or 0
if now < pause then return pause - now end
if now < (tonumber(d[4]) or 0) then rate = rate * tonumber(ARGV[3]) end
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
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[2])) or 0
if until_ms > cur then redis.call('HSET', KEYS[1], ARGV[2], until_ms) end
redis.call('PEXPIRE', KEYS[1], 600000)
return until_ms
"""


# Writes per issue: a bucket of PER_ISSUE_BURST refilled at PER_ISSUE_RATE/s admits at most 15 writes in
# any 2 s and 85 in any 30 s, under Cloud's 20 and 100 with room for a person editing the issue meanwhile.
PER_ISSUE_BURST = 10
PER_ISSUE_RATE = 2.5
# After X-RateLimit-NearLimit: this share of the configured rate, for this long.
NEAR_LIMIT_FACTOR = 0.5
NEAR_LIMIT_SECONDS = 10.0


class _Bucket:
    """The in-process fallback of one bucket."""

    def __init__(self, burst: float) -> None:
        self.tokens, self.ts, self.pause_until, self.slow_until = float(burst), time.monotonic(), 0.0, 0.0


class Throttle:
    """Token bucket of `rate` calls per second with bursts of `burst` per site, and one per issue for writes."""

    def __init__(self, key: str, rate: float = 20.0, burst: int = 40, redis_client: redis.Redis | None = None,
                 sleep: Callable[[float], None] = time.sleep, per_issue_rate: float = PER_ISSUE_RATE,
                 per_issue_burst: int = PER_ISSUE_BURST) -> None:
        if rate <= 0 or burst < 1 or per_issue_rate <= 0 or per_issue_burst < 1:
            raise ValueError("throttle rates must be > 0 and bursts >= 1")
        self.key, self.rate, self.burst = f"companion:jsm:throttle:{key}", rate, burst
        self.per_issue_rate, self.per_issue_burst = per_issue_rate, per_issue_burst
        self._redis = redis_client
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self.waited = 0.0  # seconds this process spent waiting, for metrics and tests
        self.near_limit_signals = 0
        if redis_client is not None:
            self._acquire_script = redis_client.register_script(_ACQUIRE)
            self._pause_script = redis_client.register_script(_PAUSE)

    @property
    def redis_client(self) -> redis.Redis | None:
        """The shared Redis (None: in-process only), also where JSM's auth answers are recorded."""
        return self._redis

    def acquire(self, write_to_issue: str | None = None) -> float:
        """Block until a call may go out (a write to `write_to_issue` also within that issue's limit)."""
        waited = 0.0
        if write_to_issue:
            waited += self._wait(self._issue_key(write_to_issue), self.per_issue_rate, self.per_issue_burst)
        waited += self._wait(self.key, self.rate, self.burst)
        self.waited += waited
        return waited

    def pause(self, seconds: float, issue: str | None = None) -> None:
        """Hold every caller of this site (or only the writers of `issue`) back for `seconds` (after a 429)."""
        self._mark(self._issue_key(issue) if issue else self.key, "pause", seconds)

    def near_limit(self) -> None:
        """The site said under 20% of its budget is left: go at NEAR_LIMIT_FACTOR of the rate for a while."""
        self.near_limit_signals += 1
        self._mark(self.key, "slow", NEAR_LIMIT_SECONDS)

    def _issue_key(self, issue: str) -> str:
        return f"{self.key}:issue:{issue}"

    def _wait(self, key: str, rate: float, burst: float) -> float:
        waited = 0.0
        while True:
            wait_s = self._try(key, rate, burst)
            if wait_s <= 0:
                return waited
            self._sleep(wait_s)
            waited += wait_s

    def _mark(self, key: str, field: str, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._redis is not None:
            try:
                self._pause_script(keys=[key], args=[int(seconds * 1000), field])
                return
            except redis.RedisError as exc:
                log.warning("throttle %s not shared (Redis unavailable: %s)", field, exc)
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(self.burst))
            until = time.monotonic() + seconds
            if field == "pause":
                bucket.pause_until = max(bucket.pause_until, until)
            else:
                bucket.slow_until = max(bucket.slow_until, until)

    def _try(self, key: str, rate: float, burst: float) -> float:
        if self._redis is not None:
            try:
                return int(self._acquire_script(keys=[key], args=[rate, burst, NEAR_LIMIT_FACTOR])) / 1000
            except redis.RedisError as exc:
                # Redis down must not stop JSM calls; fall back to this process's own bucket.
                log.warning("throttle falling back to in-process bucket (Redis unavailable: %s)", exc)
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(burst))
            now = time.monotonic()
            if now < bucket.pause_until:
                return bucket.pause_until - now
            if now < bucket.slow_until:
                rate *= NEAR_LIMIT_FACTOR
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.ts) * rate)
            bucket.ts = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / rate
