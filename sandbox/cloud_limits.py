"""The `cloud_limits` fault: Jira Cloud's burst and per-issue write limits, as the stand-in answers them.

Jira Cloud (2025-26) limits each site with burst buckets (a token bucket per endpoint family refilled
at a steady rate) and each issue's writes with sliding windows (documented: 20 writes per 2 s and
100 per 30 s). Over a limit it answers `429` with `Retry-After` (seconds) and
`RateLimit-Reason: jira-burst-based` or `jira-per-issue-on-write`; while under 20% of the burst is
left, successful answers carry `X-RateLimit-NearLimit: true`. Counters say what was refused, so
tests can assert "no request rejected" instead of guessing.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

BURST_REASON = "jira-burst-based"
PER_ISSUE_REASON = "jira-per-issue-on-write"
NEAR_LIMIT_SHARE = 0.2  # NearLimit below this share of the bucket left


@dataclass(slots=True)
class Verdict:
    """What the limits say about one request: refuse (status 429 with headers) or let it through."""

    refused: bool = False
    retry_after: int = 0
    reason: str | None = None
    near_limit: bool = False


def parse_config(raw: object) -> dict | None:
    """Validate `{"rps": N, "per_issue_writes": [20, 2, 100, 30]}`; None when absent."""
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise ValueError("cloud_limits must be an object")
    rps = float(raw.get("rps", 100) or 0)
    if rps <= 0:
        raise ValueError("cloud_limits.rps must be > 0")
    windows = raw.get("per_issue_writes", [20, 2, 100, 30])
    if not isinstance(windows, list) or len(windows) % 2 or not windows \
            or any(not isinstance(v, int | float) or v <= 0 for v in windows):
        raise ValueError("cloud_limits.per_issue_writes must be [count, seconds, ...] of positive numbers")
    return {"rps": rps, "burst": int(raw.get("burst", rps) or rps),
            "per_issue_writes": [int(v) if i % 2 == 0 else float(v) for i, v in enumerate(windows)]}


@dataclass
class CloudLimits:
    """One site's buckets; `check` is called once per API request, in arrival order."""

    rps: float
    burst: int
    per_issue_writes: list[float]
    clock: Callable[[], float] = time.monotonic
    refused: dict[str, int] = field(default_factory=lambda: {BURST_REASON: 0, PER_ISSUE_REASON: 0})
    near_limit_answers: int = 0
    _tokens: float = 0.0
    _ts: float = 0.0
    _writes: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._tokens, self._ts = float(self.burst), self.clock()

    def check(self, method: str, issue_key: str | None) -> Verdict:
        with self._lock:
            now = self.clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._ts) * self.rps)
            self._ts = now
            if self._tokens < 1:
                self.refused[BURST_REASON] += 1
                return Verdict(True, max(1, math.ceil((1 - self._tokens) / self.rps)), BURST_REASON, True)
            if method != "GET" and issue_key:
                verdict = self._issue_write(issue_key, now)
                if verdict is not None:
                    return verdict
            self._tokens -= 1
            near = self._tokens < NEAR_LIMIT_SHARE * self.burst
            self.near_limit_answers += near
            return Verdict(near_limit=near)

    def _issue_write(self, issue_key: str, now: float) -> Verdict | None:
        longest = max(self.per_issue_writes[1::2])
        writes = self._writes.setdefault(issue_key, deque())
        while writes and writes[0] <= now - longest:
            writes.popleft()
        for count, seconds in zip(self.per_issue_writes[0::2], self.per_issue_writes[1::2], strict=True):
            inside = [t for t in writes if t > now - seconds]
            if len(inside) >= count:
                self.refused[PER_ISSUE_REASON] += 1
                # Until the oldest write inside the window leaves it (whole seconds, as Jira sends).
                wait = inside[len(inside) - int(count)] + seconds - now
                return Verdict(True, max(1, math.ceil(wait)), PER_ISSUE_REASON)
        writes.append(now)
        return None
