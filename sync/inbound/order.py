"""Order safety and the outcome of one apply: what every writer of tickets and comments agrees on.

An apply is idempotent and order-safe: a snapshot older than what the store holds (`fields.updated`,
comment `updated`) changes nothing, unless the stored time itself is implausibly far in the future.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sync.models import utcnow

# How far ahead of our clock a stored `updated` may be and still be trusted by order safety. A stored
# time further ahead (a forged or wildly skewed event) does not make later events "older": otherwise
# one such event would make every real event and every reconcile lose to it and freeze the ticket.
# The incoming time itself is kept as JSM sent it (the stand-in's clock may be moved on purpose).
MAX_FUTURE_SKEW = timedelta(minutes=5)


def trust_limit() -> datetime:
    """The latest stored time that may still win order safety."""
    return utcnow() + MAX_FUTURE_SKEW


def trusted(stored: datetime) -> bool:
    """Whether a stored time may win order safety (it is not implausibly far in the future)."""
    return stored <= trust_limit()


class Deferred(Exception):
    """The event cannot be applied yet (e.g. a comment for a ticket not mirrored yet)."""


@dataclass(frozen=True)
class ApplyResult:
    changed: bool
    reason: str = ""
