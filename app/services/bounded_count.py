"""Counting the tickets of a scope that spans every organisation only as far as anyone reads the figure.

An exact count of a million live tickets reads a million index entries (45–104 ms), and with a text search
every matching row; past a few thousand nobody pages that far, so such a total is counted up to a bound and
shown as "more than" it. Counting stops at the bound: the cost is that of reading `bound` matching entries.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sync.models import Ticket

COUNT_BOUND = 10_000


def bounded_count(db: Session, where: list[ColumnElement[bool]], bound: int = COUNT_BOUND) -> tuple[int, bool]:
    """How many tickets match `where`, at most `bound`, and whether that is their exact number."""
    matching = select(Ticket.id).where(*where).limit(bound + 1).subquery()
    counted = int(db.scalar(select(func.count()).select_from(matching)) or 0)
    return min(counted, bound), counted <= bound
