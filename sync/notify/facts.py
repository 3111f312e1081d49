"""What changed for customers, recorded in the caller's transaction (so it commits with the change or not at all).

`sync.inbound.upsert` calls these while it writes a ticket or a comment; the policies call
`enqueue_reminder`. Recipients are decided later, when the facts are fanned out (`sync.notify.fanout`),
so a user deactivated or moved in between is no longer told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from sync.models import NotificationEvent, NotificationKind, Ticket, utcnow

# A change older than this (a first reconcile of a new install, a late replay) is history, not news.
NEWS_MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class Actor:
    """Who caused a change: a JSM account (webhook actor, comment author) and/or a portal user (our push)."""

    account_id: str | None = None
    user_id: int | None = None


NOBODY = Actor()


class ChangedTicket(Protocol):
    """What a fact needs of its ticket: a `Ticket`, or the row an inbox batch writes (`sync.inbound.rows`)."""

    @property
    def id(self) -> int | None: ...

    @property
    def customer_status(self) -> str: ...


def _is_news(at: datetime | None) -> bool:
    return at is None or at >= utcnow() - NEWS_MAX_AGE


def _record(session: Session, kind: NotificationKind, ticket: ChangedTicket, actor: Actor,
            details: dict[str, Any]) -> None:
    if ticket.id is None:
        raise ValueError("a fact names a stored ticket: write the ticket first")
    session.add(NotificationEvent(kind=kind, ticket_id=ticket.id, actor_account_id=actor.account_id,
                                  details={**details, "actor_user_id": actor.user_id}, created_at=utcnow(),
                                  fanned_out=False))


def record_status_change(session: Session, ticket: ChangedTicket, previous: str, *, resolved: bool, at: datetime | None,
                         actor: Actor = NOBODY) -> None:
    """The customer status of `ticket` changed from `previous` (a Jira move inside one customer status is none)."""
    if previous == ticket.customer_status or not _is_news(at):
        return
    _record(session, NotificationKind.STATUS, ticket, actor,
            {"from": previous, "to": ticket.customer_status, "resolved": resolved})


def record_support_reply(session: Session, ticket: ChangedTicket, comment_jira_id: str, *, at: datetime | None,
                         author_account_id: str | None) -> None:
    """A public comment from support arrived (internal comments and customers' own never come here)."""
    if not _is_news(at):
        return
    _record(session, NotificationKind.COMMENT, ticket, Actor(account_id=author_account_id),
            {"comment_jira_id": comment_jira_id})


def enqueue_reminder(session: Session, ticket: Ticket, rule_name: str, *,
                     message: dict[str, str] | None = None) -> None:
    """A policy's reminder (e.g. "waiting for your reply") for the request's customers, in the caller's transaction.

    `message`: optional text by locale ({"en": ..., "ru": ...}) shown above the standard wording.
    """
    _record(session, NotificationKind.REMINDER, ticket, NOBODY, {"rule": rule_name, "message": message or {}})
