"""The outbox: customer actions accepted here, recorded with their visible effect, owed to JSM.

`submit` runs inside the caller's transaction, so the action and what the customer sees at once
(a pending comment) commit together or not at all. The caller enqueues an `outbound` job after the
commit (`sync.jobs.request_push`); when Redis is away the sweeper (`sync.jobs.sweep`) finds the row
and enqueues it later. Nothing here talks to JSM: that is `sync.outbound.push`.
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sync.models import OUTBOX_IN_FLIGHT, Comment, OutboxAction, OutboxState, Ticket, User, utcnow

log = logging.getLogger(__name__)

KINDS = ("create", "comment", "resolve", "cancel", "reopen", "rate", "close")
TRANSITION_KINDS = ("resolve", "cancel", "reopen", "close")
IN_FLIGHT = OUTBOX_IN_FLIGHT
# A push job is killed by RQ after JOB_TIMEOUT; a row still "sending" after LEASE has no live worker
# (LEASE > JOB_TIMEOUT), so the sweeper may hand it to another one without risking a parallel send.
JOB_TIMEOUT = 120
LEASE_SECONDS = 180
# Marker stamped into what we create in JSM so a retry finds it instead of creating it again.
MARKER_PREFIX = "jsmc"


def marker(action_uuid: str) -> str:
    """One alphanumeric token (a single term for Jira's text index) naming our submission."""
    return MARKER_PREFIX + action_uuid.replace("-", "")


def portal_body(user: User | None, text: str) -> str:
    """The comment body sent to JSM: attributed, because JSM shows our API account as its author."""
    who = (user.name or user.email) if user else "Customer"
    return f"*{who}* (via the customer portal):\n\n{text.strip()}"


class OutboxConflict(Exception):
    """The action cannot be accepted now (e.g. another status change of the ticket is still pending)."""


@dataclass(frozen=True)
class Submitted:
    """What `submit` recorded: the action and, for comments, the pending local comment."""

    action: OutboxAction
    comment: Comment | None = None
    duplicate: bool = False


def submit(session: Session, kind: str, user: User, payload: dict[str, Any], ticket: Ticket | None = None,
           idempotency_key: str | None = None) -> Submitted:
    """Record an action (and its visible effect) in the caller's transaction; the caller commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown action {kind!r}")
    action_uuid = str(uuid_module.uuid4())
    if idempotency_key:
        # The same key from the same user is the same submission: answer with the first one.
        action_uuid = str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"jsmc:{user.id}:{idempotency_key}"))
        existing = session.scalars(select(OutboxAction).where(OutboxAction.uuid == action_uuid)).first()
        if existing is not None:
            comment = session.scalars(select(Comment).where(Comment.outbox_action_id == existing.id)).first()
            return Submitted(existing, comment, duplicate=True)
    if kind in TRANSITION_KINDS and ticket is not None and in_flight(session, ticket.id, TRANSITION_KINDS):
        raise OutboxConflict("another status change of this request is still being sent to support")
    body = dict(payload)
    text = (body.get("comment") if kind != "comment" else body.get("body")) or ""
    if text.strip() and kind != "rate":
        body["jsm_body"] = portal_body(user, text)
    action = OutboxAction(uuid=action_uuid, kind=kind, user_id=user.id, ticket_id=ticket.id if ticket else None,
                          payload=body, state=OutboxState.PENDING, attempts=0, next_attempt_at=None)
    session.add(action)
    session.flush()
    comment = None
    if ticket is not None and "jsm_body" in body:
        # The customer sees their words at once, marked pending, exactly as JSM will hold them.
        now = utcnow()
        comment = Comment(ticket_id=ticket.id, jira_id=None, author_name=user.name or user.email,
                          author_account_id=user.jira_account_id, from_support=False, public=True,
                          body=text.strip(), created_at=now, updated_at=now, outbox_action_id=action.id)
        session.add(comment)
        session.flush()
    return Submitted(action, comment)


def submit_automatic(session: Session, kind: str, ticket: Ticket, comment: str, idempotency_key: str,
                     author: str = "Support") -> Submitted:
    """Record an action of an automatic rule (no user: support's own), with its explaining comment.

    The comment is sent as written (no portal attribution) and shown at once as support's, pending.
    The same key is the same action: a repeated call answers with the first one.
    """
    if kind not in TRANSITION_KINDS:
        raise ValueError(f"automatic rules only change statuses, not {kind!r}")
    action_uuid = str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"jsmc:auto:{idempotency_key}"))
    existing = session.scalars(select(OutboxAction).where(OutboxAction.uuid == action_uuid)).first()
    if existing is not None:
        local = session.scalars(select(Comment).where(Comment.outbox_action_id == existing.id)).first()
        return Submitted(existing, local, duplicate=True)
    if in_flight(session, ticket.id, TRANSITION_KINDS):
        raise OutboxConflict("another status change of this request is still being sent to support")
    action = OutboxAction(uuid=action_uuid, kind=kind, user_id=None, ticket_id=ticket.id,
                          payload={"jsm_body": comment.strip(), "automatic": idempotency_key},
                          state=OutboxState.PENDING, attempts=0, next_attempt_at=None)
    session.add(action)
    session.flush()
    now = utcnow()
    local = Comment(ticket_id=ticket.id, jira_id=None, author_name=author, author_account_id=None,
                    from_support=True, public=True, body=comment.strip(), created_at=now, updated_at=now,
                    outbox_action_id=action.id)
    session.add(local)
    session.flush()
    return Submitted(action, local)


def in_flight(session: Session, ticket_id: int, kinds: tuple[str, ...] = KINDS) -> list[OutboxAction]:
    """Actions of a ticket not yet confirmed by JSM, oldest first."""
    return list(session.scalars(select(OutboxAction).where(
        OutboxAction.ticket_id == ticket_id, OutboxAction.kind.in_(kinds), OutboxAction.state.in_(IN_FLIGHT))
        .order_by(OutboxAction.id)))


def due_actions(session: Session, lease_seconds: float = LEASE_SECONDS, limit: int = 500) -> list[int]:
    """Ids the sweeper must (re-)enqueue; a `sending` row past its lease is handed back as `pending`."""
    now = utcnow()
    stale = list(session.scalars(select(OutboxAction).where(
        OutboxAction.state == OutboxState.SENDING, OutboxAction.updated_at <= now - timedelta(seconds=lease_seconds))
        .with_for_update(skip_locked=True).limit(limit)))
    for action in stale:
        # The worker that claimed it is gone (killed, OOM, host lost). `attempts` stays counted, so the
        # next push looks JSM up before sending again: JSM may have accepted the first send.
        action.state, action.next_attempt_at = OutboxState.PENDING, None
    session.flush()
    return list(session.scalars(select(OutboxAction.id).where(
        OutboxAction.state == OutboxState.PENDING,
        or_(OutboxAction.next_attempt_at.is_(None), OutboxAction.next_attempt_at <= now))
        .order_by(OutboxAction.id).limit(limit)))


def retry(session: Session, action_id: int) -> OutboxAction | None:
    """Admin retry: a failed action goes back to pending (attempts kept: the push looks JSM up first)."""
    action = session.get(OutboxAction, action_id, with_for_update=True)
    if action is None:
        return None
    if action.state != OutboxState.FAILED:
        raise OutboxConflict(f"action {action_id} is {action.state}, only failed actions can be retried")
    action.state, action.error, action.next_attempt_at = OutboxState.PENDING, None, None
    action.payload = {**action.payload, "retried_by_admin": (action.payload.get("retried_by_admin") or 0) + 1}
    return action
