"""POST /webhooks/jira: verify, validate, record durably, enqueue, acknowledge. Nothing else."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from app.context import runtime_of
from app.errors import json_error
from app.services.inbox_commit import committer_for
from sync.jobs import request_inbox_drain
from sync.jsm.events import CommentEvent, IssueEvent, NotAWebhook, normalise
from sync.logs import request_id
from sync.models import InboxState
from sync.runtime import Runtime
from sync.settings import Settings

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


def _signature_ok(secrets: tuple[str, ...], body: bytes) -> bool:
    """Whether the delivery is signed (or, for Data Center, carries ?token=) with one of the secrets."""
    header = request.headers.get("X-Hub-Signature", "")
    method, _, signature = header.partition("=")
    if signature and method.lower() == "sha256":
        given = signature.strip().lower().encode("ascii", "replace")
        # Every secret is compared (no early exit), so timing tells nothing about which one matched.
        matches = [hmac.compare_digest(hmac.new(s.encode(), body, hashlib.sha256).hexdigest().encode(), given)
                   for s in secrets]
        return any(matches)
    # Data Center webhooks that cannot sign may carry the secret as ?token= (redacted from the logs).
    token = request.args.get("token")
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


@bp.post("/webhooks/jira")
def receive():  # type: ignore[no-untyped-def]
    """Record one Jira webhook delivery in the inbox and enqueue its application."""
    runtime = runtime_of(current_app)
    jira = runtime.settings.jira
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return json_error(413, "body over 1 MiB; Jira webhooks are smaller than that")
    secrets = runtime.settings.webhook_secrets
    # Fail closed: with no secret, only an explicit jira.allow_unsigned_webhooks lets a delivery in.
    unsigned_allowed = not secrets and jira.allow_unsigned_webhooks
    if not unsigned_allowed and not _signature_ok(secrets, body):
        return json_error(401, "bad or missing X-Hub-Signature (expected sha256=<hex HMAC-SHA256 of the body>)")
    try:
        # UTF-8 only (RFC 8259 §8.1): json.loads would guess UTF-16 too, which the inbox cannot keep.
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return json_error(400, f"body is not JSON (it must be UTF-8): {exc}")
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        return json_error(400, f"body is not JSON: {exc}")
    except RecursionError:
        return json_error(400, "body is not JSON: nested too deeply")
    try:
        event = normalise(parsed)
    except NotAWebhook as exc:
        return json_error(400, f"not a Jira webhook: {exc}")

    delivery_id = request.headers.get("X-Atlassian-Webhook-Identifier") or hashlib.sha256(body).hexdigest()
    if isinstance(event, IssueEvent):
        issue_key, project_key = event.issue.key, event.issue.project_key
    elif isinstance(event, CommentEvent):
        issue_key, project_key = event.issue_key, event.project_key
    else:
        issue_key = project_key = None
    ignored = None
    if not isinstance(event, IssueEvent | CommentEvent):
        ignored = f"event kind {event.kind} is not mirrored"
    elif project_key is not None and not jira.mirrors(project_key):
        ignored = f"project {project_key} is not mirrored (jira.projects)"
    row = {"delivery_id": delivery_id[:128], "webhook_event": event.kind if ignored else parsed["webhookEvent"],
           "issue_key": issue_key, "project_key": project_key, "event_timestamp": parsed.get("timestamp"),
           "payload": text, "state": InboxState.IGNORED if ignored else InboxState.PENDING,
           "reason": ignored, "request_id": request_id.get()}
    try:
        # Durable before the answer, the commit shared with concurrent deliveries (app.services.inbox_commit).
        event_id = committer_for(runtime.engine, on_commit=lambda rows: _request_drain(runtime, rows)).record(row)
    except IntegrityError as exc:
        log.error("webhook not recorded: %s", exc.orig)
        return json_error(503, "could not record the delivery; it will be retried by Jira")
    except OperationalError as exc:
        # The database is away: 503 makes Jira Cloud retry the delivery later.
        log.error("database unavailable, webhook refused with 503: %s", exc.orig)
        return json_error(503, "database unavailable; the delivery will be retried by Jira")
    except SQLAlchemyError as exc:
        log.exception("could not record webhook")
        return json_error(503, f"could not record the delivery: {type(exc).__name__}")
    if event_id is None:
        return jsonify(status="duplicate"), 200
    if ignored:
        return jsonify(status="ignored", reason=ignored, event_id=event_id), 202
    return jsonify(status="accepted", event_id=event_id), 202
