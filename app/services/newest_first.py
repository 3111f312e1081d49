"""A page of tickets newest activity first (update time, then id), the API list's order.

Over an organisation's tickets one statement reads its index in order. Over every live ticket (an
administrator's organisation or group scope) no index has that order without the bucket rank in front (0014
leads with it), so each bucket rank's range of `ix_tickets_live_rank_updated` is read in order, at most
offset + page rows each, and the page is cut from their merge: the same rows in the same order as the one
statement that would read and sort every ticket.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select, union_all

from app.services.distinct_values import BUCKET_RANKS
from sync.models import BUCKET_RANK, Ticket

NEWEST_FIRST = (Ticket.jira_updated_at.desc(), Ticket.id.desc())


def newest_first_page(where: list[ColumnElement[bool]], limit: int, offset: int,
                      every_organisation: bool) -> Select[tuple[Ticket]]:
    """The tickets matching `where` (the scope's condition and the filters), newest first, `limit` from `offset`."""
    if not every_organisation:
        return select(Ticket).where(*where).order_by(*NEWEST_FIRST).limit(limit).offset(offset)
    # SQLite takes ORDER BY and LIMIT in a UNION's members only inside a subquery.
    reads: list[Any] = [select(select(Ticket.id).where(*where, rank == BUCKET_RANK).order_by(*NEWEST_FIRST)
                               .limit(offset + limit).subquery().c.id) for rank in BUCKET_RANKS]
    return (select(Ticket).where(Ticket.id.in_(union_all(*reads))).order_by(*NEWEST_FIRST)
            .limit(limit).offset(offset))
