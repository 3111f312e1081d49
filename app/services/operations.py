"""Admin retries of failed sync work (inbound events, outbox actions), each written to the audit log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.services.admin import AdminError
from app.services.audit import record
from sync.models import InboundEvent, InboxState, OutboxAction, User
from sync.outbound.outbox import OutboxConflict, retry
from sync.permissions import is_admin


def _require_admin(actor: User) -> None:
    if not is_admin(actor):
        raise AdminError(404, "not found")


def retry_event(db: Session, actor: User, event_id: int) -> InboundEvent:
    """A failed webhook delivery goes back to pending; the next drain applies it (order checks still hold)."""
    _require_admin(actor)
    event = db.get(InboundEvent, event_id, with_for_update=True)
    if event is None:
        raise AdminError(404, f"no inbound event {event_id}")
    if event.state != InboxState.FAILED:
        raise AdminError(409, f"event {event_id} is {event.state}, only failed events can be retried", "state")
    previous = event.reason
    event.state, event.retry_at, event.reason = InboxState.PENDING, None, None
    record(db, actor, "sync.event.retry", f"event {event.delivery_id}", None,
           {"issue_key": event.issue_key, "reason": previous})
    return event


def retry_action(db: Session, actor: User, action_id: int) -> OutboxAction:
    """A failed customer action is sent again (the push looks JSM up first, so nothing is done twice)."""
    _require_admin(actor)
    try:
        action = retry(db, action_id)
    except OutboxConflict as exc:
        raise AdminError(409, str(exc), "state") from None
    if action is None:
        raise AdminError(404, f"no outbox action {action_id}")
    record(db, actor, "outbox.retry", f"action {action_id}", None,
           {"kind": str(action.kind), "ticket_id": action.ticket_id})
    return action
