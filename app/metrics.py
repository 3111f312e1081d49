"""Prometheus metrics of the web process; gauges read from the database and Redis when scraped."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Gauge
from sqlalchemy import func, select

from sync.inbound.health import snapshot
from sync.models import MailState, OutboxAction, OutgoingMail, Ticket, utcnow
from sync.projection.unmapped import unmapped_report
from sync.runtime import Runtime

INBOX = Gauge("companion_inbox_events", "Webhook inbox rows by state", ["state"])
INBOX_DEFERRED = Gauge("companion_inbox_deferred_events", "Pending inbox rows waiting for a retry (deferred)")
INBOX_OLDEST = Gauge("companion_inbox_oldest_pending_age_seconds", "Age of the oldest pending inbox row (0: none)")
OUTBOX = Gauge("companion_outbox_actions", "Customer actions by state", ["state"])
UNMAPPED = Gauge("companion_tickets_status_fallback", "Tickets whose Jira status fell back by category")
LAG = Gauge("companion_sync_lag_seconds", "Now minus the newest change the store holds, per project", ["project"])
LAST_EVENT = Gauge("companion_sync_last_event_received_timestamp_seconds",
                   "When the newest applied webhook of a project was received (epoch s)", ["project"])
TICKETS = Gauge("companion_tickets", "Mirrored tickets (not deleted) per project", ["project"])
WATERMARK = Gauge("companion_reconcile_watermark_timestamp_seconds",
                  "Reconcile watermark per project: newest JSM `updated` applied by reconcile (epoch s)", ["project"])
UNMAPPED_VALUES = Gauge("companion_unmapped_jira_values",
                        "Jira statuses, priorities and request types the active mapping does not cover", ["kind"])
MAILS = Gauge("companion_notification_mails", "Notification e-mails by state", ["state"])
MAILS_OLDEST = Gauge("companion_notification_oldest_pending_age_seconds",
                     "Age of the oldest e-mail not yet sent (0: none)")
MAIL_FAILURES = Gauge("companion_notification_smtp_failures",
                      "E-mails the server refused for good, or whose delivery is uncertain")
# Totals kept in Redis by every process; exposed as a gauge because this process does not own them.
JSM_CALLS = Gauge("companion_jsm_calls", "JSM HTTP calls made by all processes, per endpoint kind", ["kind"])


def _epoch(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None


def refresh_gauges(runtime: Runtime) -> None:
    """Read the numbers behind the gauges (grouped counts, the same snapshot as the admin API)."""
    health = snapshot(runtime, failed_limit=0)
    INBOX.clear()
    for state, count in health["inbox"]["by_state"].items():
        INBOX.labels(state=state).set(count)
    INBOX_DEFERRED.set(health["inbox"]["deferred"])
    INBOX_OLDEST.set(health["inbox"]["oldest_pending_age_seconds"] or 0)
    for gauge in (LAG, LAST_EVENT, TICKETS, WATERMARK, JSM_CALLS):
        gauge.clear()
    for project, info in health["projects"].items():
        TICKETS.labels(project=project).set(info["tickets"])
        if info["lag_seconds"] is not None:
            LAG.labels(project=project).set(info["lag_seconds"])
        if (received := _epoch(info["last_event_received_at"])) is not None:
            LAST_EVENT.labels(project=project).set(received)
        if info["reconcile"] and (mark := _epoch(info["reconcile"].get("watermark"))) is not None:
            WATERMARK.labels(project=project).set(mark)
    for kind, count in (health["jsm_calls"] or {}).items():
        JSM_CALLS.labels(kind=kind).set(count)
    with runtime.sessions() as db:
        OUTBOX.clear()
        for state, count in db.execute(select(OutboxAction.state, func.count()).group_by(OutboxAction.state)):
            OUTBOX.labels(state=state).set(count)
        MAILS.clear()
        for state, count in db.execute(select(OutgoingMail.state, func.count()).group_by(OutgoingMail.state)):
            MAILS.labels(state=state).set(count)
        oldest = db.scalar(select(func.min(OutgoingMail.created_at)).where(
            OutgoingMail.state.in_((MailState.PENDING, MailState.SENDING))))
        MAILS_OLDEST.set((utcnow() - oldest).total_seconds() if oldest else 0)
        MAIL_FAILURES.set(db.scalar(select(func.count()).select_from(OutgoingMail).where(
            OutgoingMail.state.in_((MailState.FAILED, MailState.UNCERTAIN)))) or 0)
        UNMAPPED.set(db.scalar(select(func.count()).select_from(Ticket)
                               .where(Ticket.status_fell_back.is_(True), Ticket.deleted.is_(False))) or 0)
    singular = {"statuses": "status", "priorities": "priority", "request_types": "request_type"}
    for kind, values in unmapped_report(runtime).items():
        UNMAPPED_VALUES.labels(kind=singular[kind]).set(len(values))
