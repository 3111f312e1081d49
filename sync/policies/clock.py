"""When a rule's clock started and when it runs out: pure decisions on plain values (table-tested)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mappings import PolicyRule, WorkingCalendar


@dataclass(frozen=True)
class ClockStart:
    """What starts a ticket's clock: its entry into the current status, or a later customer reply."""

    history_id: int
    entered_at: datetime
    reply_id: int | None = None
    reply_at: datetime | None = None

    @property
    def at(self) -> datetime:
        """The instant the clock (re)started."""
        return self.reply_at if self.reply_at is not None and self.reply_at > self.entered_at else self.entered_at

    @property
    def anchor(self) -> str:
        """Stable for one status entry and one restart: a rule fires at most once per anchor."""
        return f"h{self.history_id}:c{self.reply_id or 0}"


def due_at(rule: PolicyRule, calendar: WorkingCalendar, start: ClockStart) -> datetime | None:
    """When `rule` fires for a clock started at `start` (None: the calendar never reaches it)."""
    return calendar.add_working_hours(start.at, rule.after_working_hours)


def firing_rules(rules: tuple[PolicyRule, ...], calendar: WorkingCalendar, start: ClockStart,
                 now: datetime) -> list[PolicyRule]:
    """The rules of one status due by `now` for this clock: at most one action (the longest one due),
    and no reminder that an action due at the same time makes pointless."""
    due = [r for r in rules if (at := due_at(r, calendar, start)) is not None and at <= now]
    actions = [r for r in due if r.do != "remind"]
    if not actions:
        return due
    last = max(actions, key=lambda r: r.after_working_hours)
    return [last]
