"""The rows of one list page, read in index order even when the scope or the sort has no single index order.

The list is grouped by bucket rank, then sorted by the chosen column, then by id. Two cases have no one
index that gives that order, so the database would read every ticket of the scope and sort them all:

- an org viewer whom JSM lists on another organisation's request sees their organisation's tickets OR
  those requests (`sync.scope.visible_parts` gives the two disjoint parts);
- an administrator's scope spans every organisation (and a big organisation's holds tens of thousands of
  tickets, `app.services.scope_size`): each sort has an index led by the bucket rank (0014, 0016) that gives
  the list's order when read one way (newest first; ascending for the other columns), but not the other way
  round, nor by priority or status, which rank by the mapping's order. A big organisation's newest first
  is its own index (organisation, rank, update); its other sorts read the rank-led indexes, skipping the
  other organisations' entries (one in twenty for a customer with a twentieth of the store).

Both become a merge: each branch (a part of the scope; or one bucket rank, and one priority or status value
present in the scope) reads the page's rows in its index order, the branches' rows are merged and sorted
once, and the page is cut from them. Each branch keeps the scope and every filter, and gives at most
offset + page rows, which hold all the rows of the page that it can contribute: the same rows in the same
order as the single statement.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, select, union_all
from sqlalchemy.orm import Session

from app.portal.list_query import PER_PAGE, ListSpec, conditions, ordered
from app.services.distinct_values import BUCKET_RANKS, distinct_values
from app.services.scope_size import holds_many
from mappings import Mapping
from sync.models import BUCKET_RANK, Ticket, User
from sync.scope import visible_parts

# The sorts whose rank column gets one branch per value (with the index that starts with that column).
RANKED_COLUMNS = {"priority": Ticket.customer_priority, "status": Ticket.customer_status}
# The sorts whose rank-led index gives the list's order in one direction (True: descending), as one scan;
# the other direction reads each bucket rank's range of it backwards.
ONE_SCAN_DESCENDING = {"updated": True, "created": False, "resolved": False, "key": False, "summary": False,
                       "type": False, "reporter": False, "assignee": False}


# A branch: its conditions, and its own ORDER BY when the list's would not match its index (None: the list's).
Branch = tuple[list[ColumnElement[bool]], list[Any] | None]


def _branches(db: Session, user: User, spec: ListSpec) -> list[Branch]:
    """The branches of the page, or one when a single statement reads the page in index order."""
    parts = visible_parts(user, spec.scope)
    if len(parts) > 1 or not holds_many(db, user, spec.scope):
        return [([part], None) for part in parts]
    scope = parts[0]
    if spec.sort in ONE_SCAN_DESCENDING:
        return [([scope], None)] if spec.descending == ONE_SCAN_DESCENDING[spec.sort] else [
            ([scope, rank == BUCKET_RANK], None) for rank in BUCKET_RANKS]
    column = RANKED_COLUMNS[spec.sort]
    # The values present in the whole scope (a loose scan of their index), not only the mapping's: a value
    # the mapping no longer has still shows, ranked last, until re-projection. Within one value and one
    # bucket rank both ranks are constant, so the branch is ordered by id alone, as its index is.
    values = list(db.scalars(distinct_values(column, [scope])))
    by_id = [Ticket.id.desc() if spec.descending else Ticket.id.asc()]
    return [([scope, column == value, rank == BUCKET_RANK], by_id) for value in values for rank in BUCKET_RANKS]


def page_query(db: Session, user: User, spec: ListSpec, zone: tzinfo, mapping: Mapping) -> Select[tuple[Ticket]]:
    """The statement for the page's tickets (`spec.page`), ordered as the list shows them."""
    offset = (spec.page - 1) * PER_PAGE
    where = conditions(spec, zone)
    branches = _branches(db, user, spec)
    if len(branches) == 1:
        return ordered(select(Ticket).where(*branches[0][0], *where), spec, mapping).limit(PER_PAGE).offset(offset)
    # SQLite takes ORDER BY and LIMIT in a UNION's members only inside a subquery.
    reads: list[Any] = []
    for branch, order in branches:
        read = select(Ticket.id).where(*branch, *where)
        read = read.order_by(*order) if order is not None else ordered(read, spec, mapping)
        reads.append(select(read.limit(offset + PER_PAGE).subquery().c.id))
    merged = union_all(*reads)
    return ordered(select(Ticket).where(Ticket.id.in_(merged)), spec, mapping).limit(PER_PAGE).offset(offset)
