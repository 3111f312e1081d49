"""What the request page shows about the customer's own actions, and the one version the live refresh follows.

The page and its `/live/tickets/<key>` version read the same rows: the ticket, its public comments, its
timeline, its attachments and its outbox actions. Any change to one of them moves the version, so the
status, actions panel, attachments, pending items and the rating are refreshed together.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.models import OUTBOX_IN_FLIGHT, Attachment, Comment, OutboxAction, OutboxState, StatusHistory, Ticket

# A delivered action stays on the page this long, so the customer sees "delivered" replace "sending".
SHOW_DELIVERED = timedelta(minutes=15)


def action_name(kind: str) -> str:
    """An outbox action's kind in the reader's language."""
    names = {"comment": _("Your comment"), "resolve": _("Resolving the request"),
             "cancel": _("Cancelling the request"), "reopen": _("Reopening the request"),
             "rate": _("Your rating"), "create": _("Your request")}
    return names.get(kind, _("Your change"))


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def recent_actions(db: Session, ticket: Ticket, message: Any) -> list[dict[str, Any]]:
    """The ticket's in-flight actions, and those delivered or refused lately, worded for the reader."""
    since = datetime.now(UTC) - SHOW_DELIVERED
    rows = list(db.scalars(select(OutboxAction)
                           .where(OutboxAction.ticket_id == ticket.id, OutboxAction.kind != "create")
                           .order_by(OutboxAction.id.desc()).limit(10)))
    out = []
    for action in reversed(rows):
        in_flight = action.state in OUTBOX_IN_FLIGHT
        if not in_flight and (_aware(action.updated_at) or since) < since:
            continue
        state = "pending" if in_flight else ("delivered" if action.state == OutboxState.DONE else "failed")
        out.append({"id": action.id, "kind": action.kind, "name": action_name(action.kind), "state": state,
                    "error": message(action.error) if state == "failed" else None})
    return out


def given_rating(db: Session, ticket: Ticket) -> dict[str, Any] | None:
    """The latest rating sent from here (delivered or on its way), so the page shows it instead of a blank form."""
    action = db.scalars(select(OutboxAction).where(OutboxAction.ticket_id == ticket.id, OutboxAction.kind == "rate",
                                                   OutboxAction.state != OutboxState.FAILED)
                        .order_by(OutboxAction.id.desc()).limit(1)).first()
    if action is None:
        return None
    return {"score": int(action.payload.get("score") or 0), "comment": action.payload.get("comment"),
            "pending": action.state in OUTBOX_IN_FLIGHT}


def failed_comment_ids(db: Session, ticket: Ticket) -> set[int]:
    """Comments whose action JSM refused: shown as not delivered, never as posted."""
    return set(db.scalars(select(Comment.id).join(OutboxAction, Comment.outbox_action_id == OutboxAction.id)
                          .where(Comment.ticket_id == ticket.id, Comment.jira_id.is_(None),
                                 OutboxAction.state == OutboxState.FAILED)))


def ticket_version(db: Session, ticket: Ticket) -> str:
    """A fingerprint of everything the request page shows; the live script refreshes when it moves."""
    comments = db.execute(select(func.count(), func.max(Comment.updated_at), func.max(Comment.id))
                          .where(Comment.ticket_id == ticket.id, Comment.public.is_(True),
                                 Comment.deleted.is_(False))).one()
    history = db.scalar(select(func.count()).where(StatusHistory.ticket_id == ticket.id)) or 0
    files = db.execute(select(func.count(), func.max(Attachment.id))
                       .where(Attachment.ticket_id == ticket.id, Attachment.deleted.is_(False))).one()
    # States, not times: an action can go from pending to done inside the same second as the page render.
    rows = db.execute(select(OutboxAction.id, OutboxAction.state).where(OutboxAction.ticket_id == ticket.id)
                      .order_by(OutboxAction.id.desc()).limit(10))
    outbox = tuple(tuple(row) for row in rows)
    parts = (_text(ticket.jira_updated_at), ticket.customer_status, ticket.customer_priority, ticket.summary,
             ticket.assignee_name, _text(ticket.resolved_at), (comments[0], _text(comments[1]), comments[2]),
             history, tuple(files), outbox)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def _text(value: Any) -> str | None:
    # SQLite returns MAX() of a time column as text, a loaded row gives a datetime: compare as ISO text.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return _aware(value).isoformat(timespec="seconds")  # type: ignore[union-attr]
