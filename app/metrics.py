"""Prometheus metrics of the web process; gauges read from the database when scraped."""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import func, select

from sync.models import InboundEvent, OutboxAction, Ticket
from sync.runtime import Runtime

INBOX = Gauge("companion_inbox_events", "Webhook inbox rows by state", ["state"])
OUTBOX = Gauge("companion_outbox_actions", "Customer actions by state", ["state"])
UNMAPPED = Gauge("companion_tickets_status_fallback", "Tickets whose Jira status fell back by category")


def refresh_gauges(runtime: Runtime) -> None:
    """Read the counts behind the gauges (cheap grouped counts)."""
    with runtime.sessions() as db:
        for model, gauge in ((InboundEvent, INBOX), (OutboxAction, OUTBOX)):
            gauge.clear()
            for state, count in db.execute(select(model.state, func.count()).group_by(model.state)):
                gauge.labels(state=state).set(count)
        UNMAPPED.set(db.scalar(select(func.count()).select_from(Ticket)
                               .where(Ticket.status_fell_back.is_(True), Ticket.deleted.is_(False))) or 0)
