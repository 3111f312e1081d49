"""Injected faults (rate limits, errors, latency, webhook chaos), deterministic for a given seed."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from sandbox.cloud_limits import CloudLimits, Verdict, parse_config


@dataclass(slots=True)
class ApiFault:
    """What to do to one API request."""

    latency_s: float = 0.0
    status: int | None = None  # 429 or a 5xx; None lets the request through
    retry_after: int | None = None


@dataclass(slots=True)
class HookFault:
    """What to do to one webhook delivery."""

    drop: bool = False
    duplicate: bool = False
    reorder: bool = False
    delay_s: float = 0.0


def _rate(cfg: dict, key: str) -> float:
    value = float(cfg.get(key, 0) or 0)
    if not 0 <= value <= 1:
        raise ValueError(f"{key} must be between 0 and 1")
    return value


class Faults:
    """Current fault configuration; `{}` clears it. Separate RNGs keep API and webhook draws independent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure({})

    def configure(self, cfg: dict) -> dict:
        """Validate and apply a `POST /_sandbox/faults` body; returns the normalised config."""
        if not isinstance(cfg, dict):
            raise ValueError("faults must be a JSON object")
        rate = cfg.get("rate_limit") or {}
        hooks = cfg.get("webhooks") or {}
        norm = {
            "seed": int(cfg.get("seed", 0) or 0),
            "rate_limit": {"every": int(rate.get("every", 0) or 0), "retry_after": int(rate.get("retry_after", 1))}
            if rate else None,
            "error_rate": _rate(cfg, "error_rate"),
            "latency_ms": int(cfg.get("latency_ms", 0) or 0),
            "cloud_limits": parse_config(cfg.get("cloud_limits")),
            "webhooks": {"drop": _rate(hooks, "drop"), "duplicate": _rate(hooks, "duplicate"),
                         "reorder": _rate(hooks, "reorder"), "delay_ms": int(hooks.get("delay_ms", 0) or 0)},
        }
        if norm["rate_limit"] and norm["rate_limit"]["every"] < 1:
            raise ValueError("rate_limit.every must be >= 1")
        with self._lock:
            self.config = norm
            self._api_rng = random.Random(f"{norm['seed']}:api")
            self._hook_rng = random.Random(f"{norm['seed']}:webhooks")
            self._count = 0
            limits = norm["cloud_limits"]
            self.cloud_limits = CloudLimits(**limits) if limits else None
        return norm

    def cloud(self, method: str, issue_key: str | None) -> Verdict | None:
        """Jira Cloud's burst and per-issue write limits for this request; None when `cloud_limits` is off."""
        limits = self.cloud_limits
        return limits.check(method, issue_key) if limits is not None else None

    def api(self) -> ApiFault:
        """Decide the fate of the next API request (call once per request, in arrival order)."""
        with self._lock:
            cfg = self.config
            self._count += 1
            fault = ApiFault(latency_s=cfg["latency_ms"] / 1000)
            rate = cfg["rate_limit"]
            if rate and self._count % rate["every"] == 0:
                fault.status, fault.retry_after = 429, rate["retry_after"]
            # Always draw, so the error sequence does not depend on the rate-limit setting.
            draw = self._api_rng.random()
            code = self._api_rng.choice((500, 502, 503))
            if fault.status is None and draw < cfg["error_rate"]:
                fault.status = code
            return fault

    def webhook(self) -> HookFault:
        """Decide the fate of the next webhook enqueued."""
        with self._lock:
            h = self.config["webhooks"]
            r = self._hook_rng
            drop, dup, reorder = r.random() < h["drop"], r.random() < h["duplicate"], r.random() < h["reorder"]
            return HookFault(drop, dup and not drop, reorder and not drop, h["delay_ms"] / 1000)
