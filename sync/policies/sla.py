"""The mirror of JSM's SLAs and the view customers may read of it.

JSM's SLA endpoint is agent-only, so customers of JSM's own portal never see these; we hold an agent token.
A request's SLAs change only when its status, priority or first response changes (a breach in between is
the breach time passing, which we compute ourselves), so they are fetched only for tickets whose
`signature` of those differs from the one stored with the last fetch: a storm of comment webhooks costs
nothing, a status change one call. A project whose request answered no SLA at all is remembered as having
none (free support) and not asked again for a day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.jsm.values import SlaCycle, SlaMetric
from sync.models import SyncState, Ticket, TicketSla, utcnow

if TYPE_CHECKING:
    from sync.jsm.gateway import JsmGateway
    from sync.runtime import Runtime

NO_SLA_STATE = "sla:projects_without"
NO_SLA_RECHECK = timedelta(days=1)


def signature(ticket: Ticket) -> str:
    """What a request's SLAs depend on: status, priority, first response, resolution."""
    return "|".join((ticket.jira_status_id or "", ticket.jira_priority_id or "",
                     "r" if ticket.first_response_at else "", "d" if ticket.resolved_at else ""))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _cycle_json(c: SlaCycle) -> dict[str, Any]:
    return {"start": _iso(c.start), "stop": _iso(c.stop), "breach": _iso(c.breach), "breached": c.breached,
            "paused": c.paused, "goal_ms": c.goal_ms, "elapsed_ms": c.elapsed_ms, "remaining_ms": c.remaining_ms}


def metric_to_json(m: SlaMetric) -> dict[str, Any]:
    """How a metric is stored in `TicketSla.metrics`."""
    return {"id": m.id, "name": m.name, "completed": [_cycle_json(c) for c in m.completed],
            "ongoing": _cycle_json(m.ongoing) if m.ongoing else None}


def _projects_without(session: Session, now: datetime) -> set[str]:
    row = session.get(SyncState, NO_SLA_STATE)
    value = row.value if row else {}
    return {p for p, since in value.items() if datetime.fromisoformat(since) > now - NO_SLA_RECHECK}


def stale(session: Session, mapping: Mapping, keys: Iterable[str] | None = None,
          project: str | None = None) -> list[tuple[str, str]]:
    """(key, signature) of tickets whose SLAs may have changed since they were last fetched."""
    without = _projects_without(session, utcnow())
    query = select(Ticket, TicketSla.signature).outerjoin(TicketSla, TicketSla.ticket_id == Ticket.id).where(
        Ticket.deleted.is_(False))
    if keys is not None:
        query = query.where(Ticket.key.in_(list(keys)))
    if project is not None:
        query = query.where(Ticket.project_key == project)
    out = []
    for ticket, stored in session.execute(query.order_by(Ticket.id)):
        if ticket.project_key in without or not mapping.policies.may_have_sla(ticket.project_key):
            continue
        current = signature(ticket)
        if stored != current:
            out.append((ticket.key, current))
    return out


def refresh(runtime: Runtime, gateway: JsmGateway, keys: Iterable[str] | None = None,
            project: str | None = None) -> int:
    """Fetch and store the SLAs of the stale tickets among `keys` (or of a project); returns JSM calls made."""
    before = gateway.total_calls()
    with runtime.sessions() as session:
        todo = stale(session, runtime.mapping, keys, project)
    for key, sig in todo:
        with runtime.sessions() as session:
            project_key = session.scalar(select(Ticket.project_key).where(Ticket.key == key))
            if project_key in _projects_without(session, utcnow()):
                continue  # learnt from an earlier ticket of this batch
        metrics = gateway.request_sla(key)  # no transaction is open across the HTTP call
        with runtime.sessions() as session, session.begin():
            ticket = session.scalar(select(Ticket).where(Ticket.key == key))
            if ticket is None:
                continue
            row = session.get(TicketSla, ticket.id) or TicketSla(ticket_id=ticket.id)
            row.metrics, row.signature, row.fetched_at = [metric_to_json(m) for m in metrics], sig, utcnow()
            session.add(row)
            if not metrics:
                state = session.get(SyncState, NO_SLA_STATE) or SyncState(name=NO_SLA_STATE, value={})
                state.value = {**state.value, ticket.project_key: utcnow().isoformat()}
                session.add(state)
    return gateway.total_calls() - before
