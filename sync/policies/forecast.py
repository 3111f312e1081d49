"""What publishing a mapping would make its automatic rules do: now, and in the coming week.

The editor's preview answers "publishing this closes 3 requests now and 12 more this week". It is read
from the tickets' current customer statuses and clocks; a rule that only becomes due after another rule
acts (awaiting closure, then closed) is not counted twice ahead of time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from mappings import Mapping
from sync.policies.evaluate import Firing, evaluate

WEEK = timedelta(days=7)
# Actions that end the customer's wait for an answer (a reminder does not).
CLOSING = frozenset({"resolve", "close", "cancel"})


@dataclass(frozen=True)
class Forecast:
    """Requests the rules would act on at once, and more of them within the week."""

    closes_now: int
    closes_this_week: int
    reminds_now: int
    reminds_this_week: int

    def as_dict(self) -> dict[str, int]:
        return {"closes_now": self.closes_now, "closes_this_week": self.closes_this_week,
                "reminds_now": self.reminds_now, "reminds_this_week": self.reminds_this_week}


def _tickets(firings: list[Firing], actions: frozenset[str], exclude: set[int] | None = None) -> set[int]:
    return {f.ticket_id for f in firings if (f.action in actions) and f.ticket_id not in (exclude or set())}


def forecast(session: Session, mapping: Mapping, now: datetime, default_locale: str = "en") -> Forecast:
    """Count distinct requests: those due by `now`, and the further ones due by `now` + a week."""
    due_now = evaluate(session, mapping, now, default_locale)
    due_week = evaluate(session, mapping, now, default_locale, until=now + WEEK)
    closes_now = _tickets(due_now, CLOSING)
    reminds_now = _tickets(due_now, frozenset({"remind"}))
    return Forecast(closes_now=len(closes_now),
                    closes_this_week=len(_tickets(due_week, CLOSING, closes_now)),
                    reminds_now=len(reminds_now),
                    reminds_this_week=len(_tickets(due_week, frozenset({"remind"}), reminds_now)))
