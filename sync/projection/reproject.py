"""Re-projection of every ticket under a mapping: preview (what would change) and apply (publish).

Set-based: tickets are grouped by the Jira inputs of the mapping (status id/name/category, project,
request type; priority id/name). The mapping is evaluated once per distinct group in Python, and
each changed group is one UPDATE. A store of 100,000 tickets has a few hundred groups at most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, literal, select, update
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.models import StatusHistory, Ticket, utcnow

STATUS_INPUTS = (Ticket.jira_status_id, Ticket.jira_status_name, Ticket.jira_status_category,
                 Ticket.project_key, Ticket.request_type_id)
PRIORITY_INPUTS = (Ticket.jira_priority_id, Ticket.jira_priority_name)
SAMPLE_SIZE = 5


@dataclass
class StatusMove:
    """Tickets whose customer status would go from one key to another."""

    from_status: str
    to_status: str
    count: int = 0
    sample: list[str] = field(default_factory=list)


@dataclass
class Projection:
    """What a mapping does to the store: status moves, priority moves, fallbacks."""

    tickets: int = 0
    status_moves: dict[tuple[str, str], StatusMove] = field(default_factory=dict)
    priority_moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    fell_back: int = 0

    @property
    def changed(self) -> int:
        return sum(move.count for move in self.status_moves.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "status_changes": self.changed,
            "moves": [{"from": m.from_status, "to": m.to_status, "count": m.count, "sample": m.sample}
                      for m in sorted(self.status_moves.values(), key=lambda m: -m.count)],
            "priority_changes": [{"from": a, "to": b, "count": n} for (a, b), n in self.priority_moves.most_common()],
            "fell_back": self.fell_back,
        }


def _match(columns: tuple[Any, ...], values: tuple[Any, ...]) -> ColumnElement[bool]:
    return and_(*[(col.is_(None) if value is None else col == value) for col, value in zip(columns, values,
                                                                                            strict=True)])


def _status_groups(session: Session) -> list[tuple[Any, ...]]:
    query = (select(*STATUS_INPUTS, Ticket.customer_status, func.count())
             .where(Ticket.deleted.is_(False)).group_by(*STATUS_INPUTS, Ticket.customer_status))
    return [tuple(row) for row in session.execute(query)]


def preview(session: Session, mapping: Mapping) -> Projection:
    """What publishing `mapping` would change, with a few ticket keys per move; changes nothing."""
    projection = Projection()
    for *inputs, current, count in _status_groups(session):
        resolution = mapping.resolve_status(*inputs)
        projection.tickets += count
        projection.fell_back += count if resolution.fell_back else 0
        if resolution.key != current:
            move = projection.status_moves.setdefault((current, resolution.key), StatusMove(current, resolution.key))
            move.count += count
            if len(move.sample) < SAMPLE_SIZE:
                keys = session.scalars(select(Ticket.key).where(_match(STATUS_INPUTS, tuple(inputs)),
                                                                Ticket.customer_status == current,
                                                                Ticket.deleted.is_(False))
                                       .order_by(Ticket.jira_updated_at.desc()).limit(SAMPLE_SIZE - len(move.sample)))
                move.sample.extend(keys)
    for *inputs, current, count in session.execute(
            select(*PRIORITY_INPUTS, Ticket.customer_priority, func.count()).where(Ticket.deleted.is_(False))
            .group_by(*PRIORITY_INPUTS, Ticket.customer_priority)):
        new = mapping.resolve_priority(*inputs).key
        if new != current:
            projection.priority_moves[(current, new)] += count
    return projection


def apply(session: Session, mapping: Mapping, progress: Callable[[int, int], None] | None = None) -> Projection:
    """Re-project every ticket (deleted ones too) and record history only where the status really changed."""
    projection = Projection()
    now = utcnow()
    groups: list[tuple[Any, ...]] = [tuple(row) for row in session.execute(
        select(*STATUS_INPUTS, Ticket.customer_status, Ticket.bucket, Ticket.status_fell_back, func.count())
        .group_by(*STATUS_INPUTS, Ticket.customer_status, Ticket.bucket, Ticket.status_fell_back))]
    for done, (*inputs, current, bucket, fell_back, count) in enumerate(groups, start=1):
        resolution = mapping.resolve_status(*inputs)
        projection.tickets += count
        projection.fell_back += count if resolution.fell_back else 0
        where = and_(_match(STATUS_INPUTS, tuple(inputs)), Ticket.customer_status == current,
                     Ticket.bucket == bucket, Ticket.status_fell_back.is_(fell_back))
        if resolution.key != current:
            session.execute(insert(StatusHistory).from_select(
                ["ticket_id", "customer_status", "jira_status_name", "at"],
                select(Ticket.id, literal(resolution.key), Ticket.jira_status_name, literal(now, StatusHistory.at.type))
                .where(where, Ticket.deleted.is_(False))))
            move = projection.status_moves.setdefault((current, resolution.key), StatusMove(current, resolution.key))
            move.count += count
        if (resolution.key, resolution.bucket, resolution.fell_back) != (current, bucket, fell_back):
            session.execute(update(Ticket).where(where).values(customer_status=resolution.key, bucket=resolution.bucket,
                                    status_fell_back=resolution.fell_back))
        if progress:
            progress(done, len(groups))
    for *inputs, current, count in session.execute(
            select(*PRIORITY_INPUTS, Ticket.customer_priority, func.count())
            .group_by(*PRIORITY_INPUTS, Ticket.customer_priority)).all():
        new = mapping.resolve_priority(*inputs).key
        if new != current:
            session.execute(update(Ticket).where(_match(PRIORITY_INPUTS, tuple(inputs)),
                                                 Ticket.customer_priority == current)
                            .values(customer_priority=new))
            projection.priority_moves[(current, new)] += count
    return projection
