"""POST /webhooks/jira: verify, validate, record durably, enqueue, acknowledge. Nothing else.

`receive_delivery` is the whole receiver and knows no framework: `app.webhook_dispatch` calls it for every
delivery before Flask is entered (a delivery needs no session, CSRF, language or rate limit), and the
Flask view below calls it for an app used without that dispatcher.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from werkzeug.wsgi import get_content_length, get_input_stream

from app.context import runtime_of
from app.services.inbox_commit import committer_for
from sync.jobs import request_inbox_drain
from sync.jsm.events import NotAWebhook, route
from sync.logs import request_id
from sync.models import InboxState
from sync.runtime import Runtime
from sync.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)

PATH = "/webhooks/jira"
TOO_LARGE = (413, {"error": "body over 1 MiB; Jira webhooks are smaller than that"})
Answer = tuple[int, dict[str, Any]]


def _signature_ok(secrets: tuple[str, ...], body: bytes, header: str, query: Callable[[], str]) -> bool:
    """Whether the delivery is signed (or, for Data Center, carries ?token=) with one of the secrets."""
    method, _, signature = header.partition("=")
    if signature and method.lower() == "sha256":
        given = signature.strip().lower().encode("ascii", "replace")
        # Every secret is compared (no early exit), so timing tells nothing about which one matched.
        matches = [hmac.compare_digest(hmac.digest(s.encode(), body, "sha256").hex().encode(), given)
                   for s in secrets]
        return any(matches)
    # Data Center webhooks that cannot sign may carry the secret as ?token= (redacted from the logs).
    token = next((value for name, value in parse_qsl(query(), keep_blank_values=True) if name == "token"), None)
    if token is None:
        return False
    return any([hmac.compare_digest(token.encode(), s.encode()) for s in secrets])


def announce_webhook_policy(settings: Settings) -> None:
    """Say loudly at start-up when deliveries are accepted unsigned, and which projects are mirrored."""
    if not settings.webhook_secrets:
        log.warning("UNSIGNED WEBHOOKS ACCEPTED: jira.allow_unsigned_webhooks is true and no jira.webhook_secret "
                    "is set, so anyone who can reach /webhooks/jira can change what customers see")
    if settings.jira.projects:
        log.info("mirroring projects %s (jira.projects)", ", ".join(settings.jira.projects))
    else:
        log.warning("jira.projects is empty: mirroring EVERY service desk project the JSM account can see")


def _request_drain(runtime: Runtime, rows: list[dict[str, object]]) -> None:
    """After a commit of the inbox, before its deliveries are answered: one drain request per batch."""
    if any(row["state"] == InboxState.PENDING for row in rows):
        request_inbox_drain(runtime.redis)


def _parse(body: bytes) -> tuple[str, Any] | Answer:
    """The body as text and as JSON, or the 400 saying why it is neither."""
    try:
        # UTF-8 only (RFC 8259 §8.1): json.loads would guess UTF-16 too, which the inbox cannot keep.
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return 400, {"error": f"body is not JSON (it must be UTF-8): {exc}"}
    try:
        return text, json.loads(text)
    except ValueError as exc:
        return 400, {"error": f"body is not JSON: {exc}"}
    except RecursionError:
        return 400, {"error": "body is not JSON: nested too deeply"}


def receive_delivery(runtime: Runtime, body: bytes, signature: str, identifier: str | None,
                     query: Callable[[], str]) -> Answer:
    """Record one Jira webhook delivery in the inbox and enqueue its application; the status and JSON answer.

    `signature` is the X-Hub-Signature header ("" when absent), `identifier` X-Atlassian-Webhook-Identifier,
    `query` gives the URL's query string (read only for an unsigned delivery's ?token=).
    """
    jira = runtime.settings.jira
    secrets = runtime.settings.webhook_secrets
    # Fail closed: with no secret, only an explicit jira.allow_unsigned_webhooks lets a delivery in.
    unsigned_allowed = not secrets and jira.allow_unsigned_webhooks
    if not unsigned_allowed and not _signature_ok(secrets, body, signature, query):
        return 401, {"error": "bad or missing X-Hub-Signature (expected sha256=<hex HMAC-SHA256 of the body>)"}
    parsed_body = _parse(body)
    if isinstance(parsed_body[0], int):
        return parsed_body
    text, parsed = parsed_body
    try:
        # Checked in full here (as the applier's `normalise` checks it), so a body that is not a webhook is
        # refused now (400) and not by the worker; the snapshots themselves are built by the applier only.
        routed = route(parsed)
    except NotAWebhook as exc:
        return 400, {"error": f"not a Jira webhook: {exc}"}

    issue_key, project_key = routed.issue_key, routed.project_key
    ignored = None
    if not routed.mirrored:
        ignored = f"event kind {routed.kind} is not mirrored"
    elif project_key is not None and not jira.mirrors(project_key):
        ignored = f"project {project_key} is not mirrored (jira.projects)"
    delivery_id = identifier or hashlib.sha256(body).hexdigest()
    row = {"delivery_id": delivery_id[:128], "webhook_event": routed.kind if ignored else parsed["webhookEvent"],
           "issue_key": issue_key, "project_key": project_key, "event_timestamp": parsed.get("timestamp"),
           "payload": text, "state": InboxState.IGNORED if ignored else InboxState.PENDING,
           "reason": ignored, "request_id": request_id.get()}
    try:
        # Durable before the answer, the commit shared with concurrent deliveries (app.services.inbox_commit).
        event_id = committer_for(runtime.engine, on_commit=lambda rows: _request_drain(runtime, rows)).record(row)
    except IntegrityError as exc:
        log.error("webhook not recorded: %s", exc.orig)
        return 503, {"error": "could not record the delivery; it will be retried by Jira"}
    except OperationalError as exc:
        # The database is away: 503 makes Jira Cloud retry the delivery later.
        log.error("database unavailable, webhook refused with 503: %s", exc.orig)
        return 503, {"error": "database unavailable; the delivery will be retried by Jira"}
    except SQLAlchemyError as exc:
        log.exception("could not record webhook")
        return 503, {"error": f"could not record the delivery: {type(exc).__name__}"}
    if event_id is None:
        return 200, {"status": "duplicate"}
    if ignored:
        return 202, {"status": "ignored", "reason": ignored, "event_id": event_id}
    return 202, {"status": "accepted", "event_id": event_id}


def read_body(environ: WSGIEnvironment, max_body: int) -> bytes | None:
    """The request body of a WSGI request, or None when it is over `max_body` bytes."""
    length = get_content_length(environ)
    if length is not None and length > max_body:
        return None
    if "wsgi.input_terminated" in environ:
        # The server ends the stream with the body (gunicorn, by Content-Length or the last chunk): read it
        # as it is, a chunked one up to one byte past the limit to tell it is over. Werkzeug's wrapper gives
        # a Content-Length body through a loop of small reads (some 5 µs more for a delivery), and cuts a
        # chunked one at the limit without a word, which was then refused as badly signed, not as too large.
        body: bytes = environ["wsgi.input"].read(max_body + 1 if length is None else length)
        return None if len(body) > max_body else body
    return get_input_stream(environ).read()  # bounded by Content-Length, else empty (werkzeug's safe rule)


@bp.post(PATH)
def receive() -> Response:
    """The receiver as a Flask view, for an app served without `app.webhook_dispatch` in front."""
    # The body as the lane in front of Flask reads it: `request.get_data` would cut a chunked body at
    # MAX_CONTENT_LENGTH without a word, and a cut body is answered as badly signed, not as too large.
    body = read_body(request.environ, current_app.config["MAX_CONTENT_LENGTH"])
    if body is None:
        status, answer = TOO_LARGE
    else:
        status, answer = receive_delivery(runtime_of(current_app), body, request.headers.get("X-Hub-Signature", ""),
                                          request.headers.get("X-Atlassian-Webhook-Identifier"),
                                          lambda: request.query_string.decode("utf-8", "replace"))
    response = current_app.json.response(answer)
    response.status_code = status
    return response
