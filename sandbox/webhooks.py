"""Background webhook delivery: signed, retried like Jira Cloud, with optional injected chaos."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import requests

from sandbox.faults import Faults

log = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({408, 409, 425, 429})
MAX_RETRIES = 5
# Jira Cloud waits minutes between retries; the sandbox keeps the pattern but in tenths of a second.
BACKOFF_S = (0.05, 0.1, 0.2, 0.4, 0.8)


def sign(secret: str, raw: bytes) -> str:
    """`X-Hub-Signature` value: `sha256=<hex HMAC-SHA256 of the raw body>`."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@dataclass(slots=True)
class Delivery:
    """One webhook: the identifier stays the same across retries and injected duplicates."""

    event: str
    raw: bytes
    identifier: str = field(default_factory=lambda: str(uuid.uuid4()))
    attempt: int = 0


class WebhookSender:
    """Queue plus one sender thread, so API calls return before the webhook goes out."""

    def __init__(self, url: str | None, secret: str | None, faults: Faults) -> None:
        self.url, self.secret, self.faults = url, secret, faults
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._seq = itertools.count()
        self._held: Delivery | None = None
        self._busy = 0  # deliveries queued, held or in flight
        self._stop = False
        self.log: deque[dict] = deque(maxlen=20_000)
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def configure(self, url: str | None, secret: str | None) -> None:
        """Point deliveries at another receiver (e.g. once its port is known)."""
        with self._cv:
            self.url, self.secret = url, secret

    def enqueue(self, event: str, body: dict) -> None:
        """Queue one webhook; applies the drop/duplicate/reorder/delay faults deterministically."""
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        fault = self.faults.webhook()
        d = Delivery(event, raw)
        with self._cv:
            if fault.drop:
                self.log.append({"id": d.identifier, "event": event, "status": "dropped", "attempt": 0})
                return
            due = time.monotonic() + fault.delay_s
            copies = [d, Delivery(event, raw, d.identifier)] if fault.duplicate else [d]
            if fault.reorder and self._held is None:
                # Hold this one back; it goes out right after the next webhook (or at flush).
                self._held, copies = copies[0], copies[1:]
                self._busy += 1
            for c in copies:
                self._push(due, c)
            if not fault.reorder and self._held is not None:
                self._push(due, self._held)
                self._held = None
                self._busy -= 1
            self._cv.notify_all()

    def _push(self, due: float, d: Delivery) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), d))
        self._busy += 1

    def flush(self, timeout: float = 10.0) -> bool:
        """Release held webhooks and wait until nothing is queued or in flight; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            if self._held is not None:
                self._push(time.monotonic(), self._held)
                self._held = None
                self._busy -= 1
                self._cv.notify_all()
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
            return True

    def pending(self) -> int:
        """Deliveries not finished yet."""
        with self._cv:
            return self._busy

    def stop(self) -> None:
        """Stop the sender thread (queued deliveries are abandoned)."""
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(timeout=5)
        self._session.close()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = None if not self._heap else max(self._heap[0][0] - time.monotonic(), 0)
                    self._cv.wait(wait)
                if self._stop:
                    return
                _, _, d = heapq.heappop(self._heap)
                url, secret = self.url, self.secret
            retry_at = self._deliver(d, url, secret)
            with self._cv:
                self._busy -= 1
                if retry_at is not None:
                    self._push(retry_at, d)
                self._cv.notify_all()

    def _deliver(self, d: Delivery, url: str | None, secret: str | None) -> float | None:
        """Send once; returns when to retry, or None when finished (delivered, rejected or given up)."""
        entry = {"id": d.identifier, "event": d.event, "attempt": d.attempt, "status": None}
        if not url:
            entry["status"] = "no-url"
            self.log.append(entry)
            return None
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Atlassian Webhook HTTP Client",
                   "X-Atlassian-Webhook-Identifier": d.identifier, "X-Atlassian-Webhook-Flow": "Primary"}
        if d.attempt:
            headers["X-Atlassian-Webhook-Retry"] = str(d.attempt)
        if secret:
            headers["X-Hub-Signature"] = sign(secret, d.raw)
        try:
            status = self._session.post(url, data=d.raw, headers=headers, timeout=5).status_code
            retry = status in RETRY_STATUSES or status >= 500
        except requests.RequestException as exc:
            status, retry = f"error: {type(exc).__name__}", True
        entry["status"] = status
        self.log.append(entry)
        if retry and d.attempt < MAX_RETRIES:
            d.attempt += 1
            return time.monotonic() + BACKOFF_S[d.attempt - 1]
        if retry:
            log.warning("webhook %s %s given up after %s retries", d.event, d.identifier, MAX_RETRIES)
        return None
