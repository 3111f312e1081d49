"""JSM's 401/403 answers, kept in Redis where the sync-health page reads them.

Cloud API tokens expire within a year and Atlassian only e-mails the token's owner a day before, so the
first sign is JSM answering 401 (or 403 after a permission change). Every process records the newest such
answer; the first successful call a process makes afterwards clears it (one Redis write per process start
and per recovery, not per call).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis

from sync.redis_conn import sync_reply

log = logging.getLogger(__name__)
JSM_AUTH_KEY = "companion:jsm:auth"
AUTH_STATUSES = (401, 403)


class AuthAnswers:
    """Writes the newest 401/403 answer of one site, and clears it on the next success."""

    def __init__(self, client: redis.Redis | None) -> None:
        self._redis = client
        self._clear_pending = True  # another process may have recorded one: clear on our first success

    def observe(self, status: int, what: str, kind: str) -> None:
        if self._redis is None:
            return
        try:
            if status in AUTH_STATUSES:
                self._redis.hset(JSM_AUTH_KEY, mapping={"status": str(status), "what": what, "kind": kind,
                                                        "at": f"{time.time():.3f}"})
                self._clear_pending = True
            elif status < 400 and self._clear_pending:
                self._redis.delete(JSM_AUTH_KEY)
                self._clear_pending = False
        except (redis.RedisError, OSError) as exc:  # the health record must never fail a JSM call
            log.info("JSM auth answer not recorded (Redis: %s)", exc)


def last_auth_failure(client: redis.Redis | None) -> dict[str, Any] | None:
    """The newest unrecovered 401/403: {status, what, kind, at (epoch seconds)}, or None."""
    if client is None:
        return None
    try:
        raw = sync_reply(client.hgetall(JSM_AUTH_KEY))
    except (redis.RedisError, OSError):
        return None
    if not raw:
        return None
    data = {(k.decode() if isinstance(k, bytes) else str(k)): (v.decode() if isinstance(v, bytes) else str(v))
            for k, v in raw.items()}
    try:
        return {"status": int(data.get("status", "0")), "what": data.get("what", ""),
                "kind": data.get("kind", ""), "at": float(data.get("at", "0"))}
    except ValueError:
        return None
