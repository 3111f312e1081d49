"""Admin retries of failed sync work (inbound events, outbox actions), each written to the audit log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.services.admin_input import N_, AdminError, require_admin
from app.services.audit import record
from sync.models import InboundEvent, InboxState, OutboxAction, User
from sync.outbound.outbox import OutboxConflict, retry


def retry_event(db: Session, actor: User, event_id: int) -> InboundEvent:
    """A failed webhook delivery goes back to pending; the next drain applies it (order checks still hold)."""
    require_admin(actor)
    event = db.get(InboundEvent, event_id, with_for_update=True)
    if event is None:
        raise AdminError(404, N_("no inbound event %(id)s"), None, {"id": event_id})
    if event.state != InboxState.FAILED:
        raise AdminError(409, N_("event %(id)s is %(state)s, only failed events can be retried"), "state",
                         {"id": event_id, "state": str(event.state)})
    previous = event.reason
    event.state, event.retry_at, event.reason = InboxState.PENDING, None, None
    record(db, actor, "sync.event.retry", f"event {event.delivery_id}", None,
           {"issue_key": event.issue_key, "reason": previous})
    return event


def retry_action(db: Session, actor: User, action_id: int) -> OutboxAction:
    """A failed customer action is sent again (the push looks JSM up first, so nothing is done twice)."""
    require_admin(actor)
    try:
        action = retry(db, action_id)
    except OutboxConflict as exc:
        raise AdminError(409, N_("the action cannot be retried: %(reason)s"), "state", {"reason": str(exc)}) from None
    if action is None:
        raise AdminError(404, N_("no outbox action %(id)s"), None, {"id": action_id})
    record(db, actor, "outbox.retry", f"action {action_id}", None,
           {"kind": str(action.kind), "ticket_id": action.ticket_id})
    return action
