"""Every web request: a request id (made, or a caller's `X-Request-Id`), one log line, one counted response."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, g, request

from sync.logs import PLAIN, new_request_id, request_id
from sync.telemetry import HTTP_RESPONSES

log = logging.getLogger("companion.http")
# Probes and scrapes are logged at DEBUG: every few seconds each, they would drown the lines that matter.
_QUIET = frozenset({"/healthz", "/readyz", "/metrics", "/favicon.ico"})


def init_request_log(app: Flask) -> None:
    """Bind a request id around each request, answer it in `X-Request-Id`, and log the response."""

    @app.before_request
    def bind_request_id() -> None:
        g.request_started = time.monotonic()
        g.request_id_token = request_id.set(new_request_id(request.headers.get("X-Request-Id")))

    @app.after_request
    def log_response(response: Response) -> Response:
        rid = request_id.get()
        if rid:
            response.headers["X-Request-Id"] = rid
        log_answer(request.blueprint or "other", request.method, request.path, response.status_code,
                   g.get("request_started", time.monotonic()))
        return response

    @app.teardown_request
    def unbind_request_id(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id.reset(token)


# The counter of each (endpoint group, status class) seen: `labels()` looks it up under a lock every time.
_COUNTERS: dict[tuple[str, int], Any] = {}


def log_answer(endpoint: str, method: str, path: str, status: int, started: float, *, plain: bool = False) -> None:
    """Count the answer by endpoint group and status class, and log its line (`started`: time.monotonic()).

    `plain`: the caller's method and path are constants of its code (the webhook lane), so the line needs no
    scan for URL-borne secrets (sync.logs.PLAIN); a path taken from a request may hold a share-link token.
    """
    counter = _COUNTERS.get((endpoint, status // 100))
    if counter is None:
        counter = _COUNTERS[endpoint, status // 100] = HTTP_RESPONSES.labels(endpoint=endpoint,
                                                                             status=f"{status // 100}xx")
    counter.inc()
    elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    # The path only: a query string may hold a token (?token= on Data Center webhooks).
    log.log(logging.DEBUG if path in _QUIET else logging.INFO, "%s %s -> %s in %.1f ms", method, path, status,
            elapsed_ms, extra={"http_method": method, "http_path": path, "http_status": status,
                               "duration_ms": elapsed_ms, PLAIN: plain})
