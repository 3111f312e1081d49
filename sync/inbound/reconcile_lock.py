"""One reconcile per project at a time, across every process: a Redis lock with a TTL renewed after each page."""

from __future__ import annotations

import contextlib
import logging
import uuid

import redis

log = logging.getLogger(__name__)
LOCK_TTL_MS = 10 * 60 * 1000  # renewed after every page, so only a dead run lets it lapse


class ProjectLock:
    """A Redis lock per project; a stale holder's TTL lapses. Redis down → run unlocked (applies are
    order-safe and the watermark only moves forward, so overlapping runs waste calls, not data)."""

    _EXTEND = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end "
               "return 0")
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, client: redis.Redis | None, project: str) -> None:
        self.client, self.key, self.token = client, f"companion:reconcile:lock:{project}", uuid.uuid4().hex

    def acquire(self) -> bool:
        if self.client is None:
            return True
        try:
            return bool(self.client.set(self.key, self.token, nx=True, px=LOCK_TTL_MS))
        except redis.RedisError as exc:
            log.warning("reconcile lock unavailable (%s); running unlocked", exc)
            self.client = None
            return True

    def extend(self) -> None:
        if self.client is not None:
            with contextlib.suppress(redis.RedisError):  # losing Redis mid-run is not a reason to stop
                self.client.eval(self._EXTEND, 1, self.key, self.token, str(LOCK_TTL_MS))

    def release(self) -> None:
        if self.client is not None:
            with contextlib.suppress(redis.RedisError):  # else the TTL frees it
                self.client.eval(self._RELEASE, 1, self.key, self.token)
