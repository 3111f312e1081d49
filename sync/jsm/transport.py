"""HTTP to one JSM site through atlassian-python-api, with throttling, bounded retries and counting.

The library is used for what it does well (auth: Basic for Cloud, Bearer PAT for Data Center;
sessions; URL joining). Its own retry is switched off (`backoff_and_retry=False` mounts nothing;
`retry_with_header=False` stops the one-shot 429 retry that would also repeat a POST), and every
call runs in `advanced_mode`, so we read status and headers ourselves and never meet its
error-handler traps (REFERENCE c.5, c.6).
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

import requests
from atlassian import Jira, ServiceDesk

from sync.jsm.auth_answers import AuthAnswers
from sync.jsm.errors import JsmTransientError, from_exception, from_response
from sync.jsm.throttle import Throttle
from sync.telemetry import JSM_RESPONSES

log = logging.getLogger(__name__)

SD = "rest/servicedeskapi"
API = "rest/api/2"  # v2 everywhere: v3 returns ADF for bodies (REFERENCE b.4)
# Jira Cloud's `RateLimit-Reason` when one issue had too many writes (the site itself is not over its budget).
PER_ISSUE_REASON = "jira-per-issue-on-write"
_ISSUE_IN_PATH = re.compile(r"/(?:request|issue)/([^/?]+)")


class Transport:
    """Sends one logical call, retrying idempotent GETs on transient failures within a bound."""

    def __init__(self, site_url: str, *, deployment: str, email: str | None, token: str,
                 throttle: Throttle, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 max_attempts: int = 4, max_retry_wait: float = 30.0, backoff_base: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.site_url = site_url.rstrip("/")
        self.deployment = deployment
        session = requests.Session()
        common: dict[str, Any] = {"cloud": deployment == "cloud", "session": session,
                                  "backoff_and_retry": False, "retry_with_header": False}
        if deployment == "cloud":
            common.update(username=email, password=token)
        else:
            common.update(token=token)
        self.platform = Jira(self.site_url, **common)
        self.sd = ServiceDesk(self.site_url, **common)
        self.timeout = (connect_timeout, read_timeout)
        for client in (self.platform, self.sd):
            # The constructor int()s it and the library annotates it `int`, but it is handed to requests
            # unchanged, which takes (connect, read): the annotation is narrower than the library's use.
            cast(Any, client).timeout = self.timeout
        self.throttle = throttle
        self.auth_answers = AuthAnswers(throttle.redis_client)
        self.max_attempts, self.max_retry_wait, self.backoff_base = max_attempts, max_retry_wait, backoff_base
        self._sleep = sleep
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()  # HTTP requests sent, per endpoint kind (retries included)
        self.retries = 0

    def call(self, method: str, path: str, *, kind: str, what: str, params: dict[str, Any] | None = None,
             json: Any = None, files: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
             ok_statuses: tuple[int, ...] = ()) -> requests.Response:
        """Send `method path`; returns the response (2xx or one of ok_statuses) or raises JsmError."""
        client = self.sd if path.startswith(SD) else self.platform
        # Only GETs are retried here: a POST that timed out or got a 5xx may have been applied, and
        # repeating it could create a second request or comment. The outbox decides what to do.
        retriable = method == "GET"
        issue = None if method == "GET" else _issue_in(path)
        attempt = 0
        while True:
            attempt += 1
            self.throttle.acquire(write_to_issue=issue)
            with self._lock:
                self.calls[kind] += 1
            started = time.monotonic()
            try:
                response = client.request(method, path, params=params, json=json, files=files,
                                          headers=headers or client.default_headers, advanced_mode=True)
            except requests.RequestException as exc:
                _record(kind, method, path, "error", started)
                error = from_exception(exc, what, self.site_url, self.timeout[1])
            else:
                if response.headers.get("X-RateLimit-NearLimit", "").lower() == "true":
                    self.throttle.near_limit()
                _record(kind, method, path, str(response.status_code), started)
                self.auth_answers.observe(response.status_code, what, kind)
                if response.status_code < 400 or response.status_code in ok_statuses:
                    return response
                error = from_response(response, what, self.deployment)
                if response.status_code == 429:
                    per_issue = response.headers.get("RateLimit-Reason") == PER_ISSUE_REASON
                    self.throttle.pause(getattr(error, "retry_after", None) or 0.0,
                                        issue=issue if per_issue and issue else None)
            if not isinstance(error, JsmTransientError) or not retriable or attempt >= self.max_attempts:
                raise error
            delay = error.retry_after
            if delay is None:
                delay = self.backoff_base * 2 ** (attempt - 1) * (0.5 + random.random())
            elif delay > self.max_retry_wait:
                raise error  # a long Retry-After: let the job be rescheduled instead of holding a worker
            log.info("JSM %s: %s; retry %d in %.2f s", kind, error, attempt, delay)
            with self._lock:
                self.retries += 1
            if delay > 0:
                self._sleep(delay)

    def get_json(self, path: str, *, kind: str, what: str, params: dict[str, Any] | None = None,
                 experimental: bool = False) -> Any:
        """GET and decode JSON."""
        headers = None
        if experimental:
            headers = dict(self.sd.experimental_headers)
        return _json(self.call("GET", path, kind=kind, what=what, params=params, headers=headers))

    def send_json(self, method: str, path: str, body: Any, *, kind: str, what: str,
                  params: dict[str, Any] | None = None) -> Any:
        """POST/PUT a JSON body (never retried) and decode the answer (None for 204)."""
        return _json(self.call(method, path, kind=kind, what=what, json=body, params=params,
                               headers=dict(self.platform.default_headers)))

    def total_calls(self) -> int:
        """HTTP requests sent so far."""
        with self._lock:
            return sum(self.calls.values())


def _issue_in(path: str) -> str | None:
    """The issue a write addresses (`.../request/SUP-1/comment`, `.../issue/SUP-1/transitions`), for its bucket."""
    match = _ISSUE_IN_PATH.search(path)
    return match.group(1) if match else None
def _record(kind: str, method: str, path: str, status: str, started: float) -> None:
    # One line per HTTP call, under the request id of the work that made it (sync.logs); the path only:
    # parameters may carry customer text.
    JSM_RESPONSES.labels(kind=kind, status=status).inc()
    log.info("JSM %s %s -> %s in %.0f ms", method, path, status, (time.monotonic() - started) * 1000,
             extra={"jsm_kind": kind, "jsm_status": status})


def _json(response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise JsmTransientError(f"JSM answered {response.status_code} with a body that is not JSON "
                                f"({response.headers.get('Content-Type')}); a proxy may be in the way") from None
