"""No echo: recognising, in `sync.inbound.upsert`, the webhooks caused by our own writes to JSM.

Three cases (DESIGN.md "Sync semantics"):
- a comment we posted arrives before the push recorded JSM's id: link the pending local comment;
- a comment of ours arrives again (updates, reconciliation): keep the customer's words and authorship
  (JSM shows our API account as author and our attribution line in the body);
- the issue webhooks of a customer transition we are performing (several for a multi-hop move): while
  the action is in flight and the actor is our JSM account, they change nothing; the push applies
  JSM's final state itself when the transition is done (what we last wrote).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sync.jsm.events import IssueEvent
from sync.jsm.snapshots import CommentSnapshot
from sync.models import OUTBOX_IN_FLIGHT, Comment, OutboxAction, Ticket, utcnow

if TYPE_CHECKING:
    from sync.inbound.batch import BatchCache
    from sync.inbound.rows import CommentRow, TicketRow

TRANSITIONS = ("resolve", "cancel", "reopen")
# How long after our transition its late webhooks are still recognised as ours.
ECHO_WINDOW = timedelta(minutes=10)


def normalise_body(text: str | None) -> str:
    """Comment text compared modulo line endings and surrounding whitespace (JSM may normalise them)."""
    return "\n".join(line.rstrip() for line in (text or "").replace("\r\n", "\n").strip().split("\n"))


def is_transition_echo(session: Session, event: IssueEvent, batch: BatchCache | None = None) -> bool:
    """Whether an issue event was caused by a customer transition we are performing (or just performed).

    Recognised by the acting account (our JSM account, recorded on the action when it was sent) on a
    ticket with such an action in flight or finished within ECHO_WINDOW: late hop webhooks would
    otherwise replay intermediate statuses into the ticket's history. With a batch, the candidates
    were read once for the whole batch (see `sync.inbound.batch` for why that snapshot is enough).
    """
    actor = event.actor.account_id if event.actor else None
    if not actor or event.kind != "updated":
        return False
    if batch is not None:
        return actor in batch.echo_actors.get(event.issue.jira_id, ())
    ticket_id = session.scalars(select(Ticket.id).where(Ticket.jira_id == event.issue.jira_id)).first()
    if ticket_id is None:
        return False
    since = utcnow() - ECHO_WINDOW
    actions = session.scalars(select(OutboxAction).where(
        OutboxAction.ticket_id == ticket_id, OutboxAction.kind.in_(TRANSITIONS),
        or_(OutboxAction.state.in_(OUTBOX_IN_FLIGHT), OutboxAction.updated_at >= since)))
    return any((a.payload or {}).get("jsm_actor") == actor for a in actions)


def _ours(action: OutboxAction | None, comment: CommentSnapshot) -> bool:
    if action is None:
        return False
    payload = action.payload or {}
    actor = payload.get("jsm_actor")
    author = comment.author.account_id if comment.author else None
    if actor and author and actor != author:
        return False
    return normalise_body(payload.get("jsm_body")) == normalise_body(comment.body)


def link_pending_comment(session: Session, ticket: Ticket | TicketRow, comment: CommentSnapshot) -> Comment | None:
    """The pending local comment this JSM comment is the echo of (now linked to its JSM id), or None."""
    candidates = session.scalars(select(Comment).where(
        Comment.ticket_id == ticket.id, Comment.jira_id.is_(None), Comment.outbox_action_id.is_not(None),
        Comment.deleted.is_(False)).order_by(Comment.id).with_for_update())
    for row in candidates:
        if _ours(session.get(OutboxAction, row.outbox_action_id), comment):
            row.jira_id = comment.jira_id
            if comment.updated is not None:
                row.updated_at = comment.updated
            return row
    return None


def is_own_comment_echo(session: Session, row: Comment | CommentRow, comment: CommentSnapshot) -> bool:
    """Whether a stored comment of ours is being re-delivered unchanged (so the local copy must stay)."""
    if row.outbox_action_id is None:
        return False
    return _ours(session.get(OutboxAction, row.outbox_action_id), comment)
