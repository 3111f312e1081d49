"""The `"sla"` of tickets in API answers and pages: the customer-safe view of their mirrored JSM SLAs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.models import Ticket, TicketSla
from sync.policies.sla_view import customer_view, utc_now


def ticket_slas(session: Session, tickets: list[Ticket], mapping: Mapping, locale: str = "en",
                now: datetime | None = None) -> dict[int, list[dict[str, Any]]]:
    """Ticket id → its SLA view (`[]`: the desk has no SLA, or it was not fetched yet), in one query."""
    rows = {r.ticket_id: r.metrics for r in session.scalars(
        select(TicketSla).where(TicketSla.ticket_id.in_([t.id for t in tickets])))}
    at = now or utc_now()
    return {t.id: customer_view(rows.get(t.id) or [], mapping, at, locale) for t in tickets}
