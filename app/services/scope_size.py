"""Whether a reader's scope is read through indexes, as the whole table is, or simply read row by row.

An organisation's scope is usually a few hundred tickets: one grouped statement counts them, lists their
types and fingerprints them, and sorting them costs nothing. A customer with tens of thousands of tickets
makes each of those a read of every one of its rows (50,000 rows: a tenth of a second per statement, several
per page), so past `MANY_TICKETS` live tickets its list is read as an administrator's is: the total
counted up to a bound ("more than 10,000"), the filters' choices by loose index scans, each page in the
order of the rank-led indexes (`app.portal.list_rows`), and its summary counted by a job and kept
(`app.services.summary_cache`). Telling the two apart is itself a bounded count: cheap however big.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.services.bounded_count import COUNT_BOUND, bounded_count
from sync.models import User
from sync.scope import spans_every_organisation, visible_condition

# Past this many live tickets a scope is read through indexes: as many as a bounded total counts.
MANY_TICKETS = COUNT_BOUND


def holds_many(db: Session, user: User, scope: str) -> bool:
    """Whether `user`'s `scope` is read through indexes: every organisation's tickets (an administrator's), or
    an organisation scope of more than `MANY_TICKETS` live tickets.

    Counted once per database session (a page asks for it several times; a session lasts one request).
    Only the organisation scope grows with a customer's size: a reader's own requests and a group's open
    ones stay few.
    """
    if spans_every_organisation(user, scope):
        return True
    if scope != "org":
        return False
    key = ("holds_many", user.id, user.organization_id, scope)
    known = db.info.get(key)
    if known is None:
        known = not bounded_count(db, [visible_condition(user, scope)], MANY_TICKETS)[1]
        db.info[key] = known
    return bool(known)
