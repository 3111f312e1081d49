"""The webhook receiver's own lane: POST /webhooks/jira is answered before Flask is entered.

A delivery is signed JSON from Jira: it carries no cookie and fills no form, so the session, CSRF, language,
cookie guard and rate-limit hooks that every Flask request runs decide nothing for it, yet they cost more CPU
than the receiver itself (bench/ingest.py). This WSGI middleware takes exactly that method and path and does
only what a delivery needs: a request id bound for its log lines and answered in `X-Request-Id`, the 1 MiB
body limit, `app.webhooks.receive_delivery`, the answer counted and logged like any other (app.requestlog),
and the security headers every answer carries. Everything else goes to Flask unchanged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from app.requestlog import log_answer
from app.security import SECURITY_HEADERS
from app.webhooks import PATH, TOO_LARGE, read_body, receive_delivery
from sync.logs import new_request_id, request_id
from sync.runtime import Runtime

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 413: "Request Entity Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}
_STATIC_HEADERS = [("Content-Type", "application/json"), *SECURITY_HEADERS.items()]


class WebhookDispatch:
    """WSGI middleware: POST /webhooks/jira to the receiver directly, every other request to `app`."""

    def __init__(self, app: WSGIApplication, runtime: Runtime, max_body: int) -> None:
        self._app, self._runtime, self._max_body = app, runtime, max_body

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self._app(environ, start_response)
        started = time.monotonic()
        rid = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        token = request_id.set(rid)
        try:
            status, answer = self._receive(environ)
            headers = [*_STATIC_HEADERS, ("X-Request-Id", rid)]
            if environ.get("wsgi.url_scheme") == "https":
                headers.append(("Strict-Transport-Security", "max-age=31536000"))
            body = json.dumps(answer).encode() + b"\n"
            headers.append(("Content-Length", str(len(body))))
            start_response(f"{status} {_REASONS.get(status, '')}", headers)
            log_answer("webhooks", "POST", PATH, status, started, plain=True)
            return [body]
        finally:
            request_id.reset(token)

    def _receive(self, environ: WSGIEnvironment) -> tuple[int, dict[str, Any]]:
        body = read_body(environ, self._max_body)
        if body is None:
            return TOO_LARGE

        def query() -> str:  # WSGI hands the raw query bytes over as latin-1 text
            return str(environ.get("QUERY_STRING", "")).encode("latin-1").decode("utf-8", "replace")

        try:
            return receive_delivery(self._runtime, body, environ.get("HTTP_X_HUB_SIGNATURE", ""),
                                    environ.get("HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER"), query)
        except Exception:  # a defect, not bad input: logged with its trace, answered as Flask would
            log.exception("webhook receiver failed")
            return 500, {"error": "internal error"}
