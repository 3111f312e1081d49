"""Which automatic rules are due for which tickets, read from our status history and comments.

The clock of a rule is working time since the ticket entered its current customer status (the newest
`StatusHistory` entry) or since the customer's latest public reply, whichever is later: a customer's
reply or any customer-status change restarts it. Nothing here writes; `sync.policies.run` acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mappings import Mapping, PolicyRule
from sync.models import Comment, PolicyEvent, StatusHistory, Ticket, User
from sync.policies.clock import ClockStart, due_at, firing_rules


@dataclass(frozen=True)
class Firing:
    """One rule due for one ticket: what `policies run` prints and then does."""

    key: str
    ticket_id: int
    rule: str
    action: str
    start: ClockStart
    due: datetime
    locale: str

    def line(self) -> str:
        """`KEY RULE ACTION` (DESIGN.md `policies run --dry-run`)."""
        return f"{self.key} {self.rule} {self.action}"

    def as_dict(self) -> dict[str, str]:
        """JSON form for `--json` and the admin API."""
        return {"key": self.key, "rule": self.rule, "action": self.action,
                "clock_started": self.start.at.isoformat().replace("+00:00", "Z"),
                "due": self.due.isoformat().replace("+00:00", "Z"), "locale": self.locale}


def _clock_starts(session: Session, tickets: list[Ticket]) -> dict[int, ClockStart]:
    ids = [t.id for t in tickets]
    newest = select(StatusHistory.ticket_id, func.max(StatusHistory.at).label("at")).where(
        StatusHistory.ticket_id.in_(ids)).group_by(StatusHistory.ticket_id).subquery()
    entries = session.execute(select(StatusHistory).join(newest, (StatusHistory.ticket_id == newest.c.ticket_id)
                                                          & (StatusHistory.at == newest.c.at))).scalars()
    status_of = {t.id: t.customer_status for t in tickets}
    starts: dict[int, ClockStart] = {}
    for entry in entries:
        # Only an entry into the status the ticket is in now starts its clock; a ticket whose status we
        # never saw begin (no such entry) is left alone rather than timed from a guess.
        if entry.customer_status == status_of[entry.ticket_id]:
            current = starts.get(entry.ticket_id)
            if current is None or entry.id > current.history_id:
                starts[entry.ticket_id] = ClockStart(entry.id, entry.at)
    replies = session.execute(
        select(Comment.ticket_id, Comment.id, Comment.created_at).where(
            Comment.ticket_id.in_(list(starts)), Comment.from_support.is_(False), Comment.public.is_(True),
            Comment.deleted.is_(False)).order_by(Comment.created_at))
    for ticket_id, comment_id, created in replies:
        start = starts[ticket_id]
        if created > start.entered_at:
            starts[ticket_id] = ClockStart(start.history_id, start.entered_at, comment_id, created)
    return starts


def _locales(session: Session, tickets: list[Ticket], default: str) -> dict[int, str]:
    accounts = {t.reporter_account_id for t in tickets if t.reporter_account_id}
    emails = {t.reporter_email.lower() for t in tickets if t.reporter_email}
    by_account: dict[str, str] = {}
    by_email: dict[str, str] = {}
    for account, email, locale in session.execute(select(User.jira_account_id, User.email, User.locale).where(
            User.jira_account_id.in_(accounts) | func.lower(User.email).in_(emails))):
        if locale:
            if account:
                by_account[account] = locale
            by_email[email.lower()] = locale
    return {t.id: by_account.get(t.reporter_account_id or "") or by_email.get((t.reporter_email or "").lower())
            or default for t in tickets}


def _fired(session: Session, ticket_ids: list[int]) -> set[tuple[str, int, str]]:
    return set(session.execute(select(PolicyEvent.rule, PolicyEvent.ticket_id, PolicyEvent.anchor)
                               .where(PolicyEvent.ticket_id.in_(ticket_ids))).all())


def _candidates(session: Session, rules: tuple[PolicyRule, ...]) -> list[Ticket]:
    statuses = sorted({r.when for r in rules})
    return list(session.scalars(select(Ticket).where(Ticket.customer_status.in_(statuses),
                                                     Ticket.deleted.is_(False)).order_by(Ticket.id)))


def evaluate(session: Session, mapping: Mapping, now: datetime, default_locale: str = "en",
             until: datetime | None = None) -> list[Firing]:
    """Rules due by `now` (by `until` for a forecast) that have not fired yet for their clock start."""
    rules = mapping.policies.enabled_rules
    if not rules:
        return []
    calendar = mapping.policies.calendar
    tickets = _candidates(session, rules)
    starts = _clock_starts(session, tickets)
    fired = _fired(session, list(starts))
    locales = _locales(session, [t for t in tickets if t.id in starts], default_locale)
    horizon = until or now
    out: list[Firing] = []
    for ticket in tickets:
        start = starts.get(ticket.id)
        if start is None:
            continue
        own = tuple(r for r in rules if r.when == ticket.customer_status)
        for rule in firing_rules(own, calendar, start, horizon):
            if (rule.name, ticket.id, start.anchor) in fired:
                continue
            at = due_at(rule, calendar, start)
            if at is not None:
                out.append(Firing(ticket.key, ticket.id, rule.name, rule.do, start, at, locales[ticket.id]))
    return out
