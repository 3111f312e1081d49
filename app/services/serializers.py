"""JSON shapes of the HTTP API (DESIGN.md "A ticket"): tickets, comments, history, outbox actions, sync blocks."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from app.services.sla import ticket_slas
from mappings import Mapping
from sync.models import OUTBOX_IN_FLIGHT, Comment, OutboxAction, OutboxState, StatusHistory, Ticket, User
from sync.outbound.messages import customer_message
from sync.permissions import is_admin
from sync.scope import raised

CUSTOMER_ACTIONS_ON_TICKET = ("comment", "attach", "resolve", "cancel", "reopen", "rate")


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z (the API's time format), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _status_parts(mapping: Mapping, key: str, locale: str,
                  requester: bool = True) -> tuple[str, str, tuple[str, ...]]:
    try:
        status = mapping.status(key)
    except KeyError:  # a status removed from a newer mapping: show the key until re-projection
        return key, "", ()
    return status.label(locale, requester=requester), status.description(locale, requester=requester), status.actions


def _priority_label(mapping: Mapping, key: str, locale: str) -> str:
    try:
        return mapping.priority(key).label(locale)
    except KeyError:
        return key


def _labels(mapping: Mapping, ticket: Ticket, locale: str, requester: bool,
            memo: dict[tuple[str, str], Any] | None) -> tuple[tuple[str, str, tuple[str, ...]], str]:
    # A page or an export repeats a handful of statuses and priorities; label(locale) is not free.
    if memo is None:
        return (_status_parts(mapping, ticket.customer_status, locale, requester),
                _priority_label(mapping, ticket.customer_priority, locale))
    status_key = ("s" if requester else "o", ticket.customer_status)
    priority_key = ("p", ticket.customer_priority)
    if status_key not in memo:
        memo[status_key] = _status_parts(mapping, ticket.customer_status, locale, requester)
    if priority_key not in memo:
        memo[priority_key] = _priority_label(mapping, ticket.customer_priority, locale)
    return memo[status_key], memo[priority_key]


def ticket_json(ticket: Ticket, mapping: Mapping, viewer: User, locale: str = "en",
                sync_state: str = "synced", sync_error: str | None = None,
                sync_block: dict[str, Any] | None = None,
                memo: dict[tuple[str, str], Any] | None = None,
                sla: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One ticket as the API shows it to `viewer`; `memo` caches labels across the tickets of one answer."""
    # The requester reads "waiting for your reply"; a colleague or viewer reads "waiting for the requester".
    requester = raised(viewer, ticket)
    (label, description, actions), priority_label = _labels(mapping, ticket, locale, requester, memo)
    data: dict[str, Any] = {
        "key": ticket.key,
        "summary": ticket.summary,
        "request_type": ticket.request_type_name or ticket.issue_type_name,
        "organization": ticket.organization.name if ticket.organization else None,
        "status": ticket.customer_status,
        "status_label": label,
        "status_description": description,
        "bucket": ticket.bucket,
        "priority": ticket.customer_priority,
        "priority_label": priority_label,
        "created": iso(ticket.created_at),
        "updated": iso(ticket.jira_updated_at),
        "resolved": iso(ticket.resolved_at),
        "reporter": {"name": ticket.reporter_name},
        "can": [action for action in CUSTOMER_ACTIONS_ON_TICKET if action in actions],
        "sync": {"state": sync_state, "last_synced": iso(ticket.last_synced_at), "error": sync_error},
    }
    if sync_block is not None:
        data["sync"] = sync_block
    elif sync_state == "synced" and object_session(ticket) is not None:
        # The sync block comes from the ticket's outbox (pending / failed customer actions).
        data["sync"] = ticket_sync(object_session(ticket), ticket, locale)
    _replied_at_once(data, mapping, ticket, locale)
    session = object_session(ticket)
    data["sla"] = sla if sla is not None or session is None else ticket_slas(session, [ticket], mapping,
                                                                              locale)[ticket.id]
    if is_admin(viewer):
        data["jira"] = {"status": ticket.jira_status_name, "status_id": ticket.jira_status_id,
                        "status_category": ticket.jira_status_category, "priority": ticket.jira_priority_name,
                        "updated": iso(ticket.jira_updated_at)}
    return data


def _replied_at_once(data: dict[str, Any], mapping: Mapping, ticket: Ticket, locale: str) -> None:
    # A customer's reply still owed to JSM moves the meaning at once (optimistic); once delivered, JSM's
    # own status (moved by the "respond" transition the comment handler performs) is shown again.
    pending = data["sync"].get("pending") or []
    if not any(p["action"] == "comment" for p in pending):
        return
    try:
        replied = mapping.status(ticket.customer_status).replied(locale)
    except KeyError:
        return
    if replied is not None:
        data["status_label"], data["status_description"] = replied
        data["status_optimistic"] = True


def tickets_json(tickets: list[Ticket], mapping: Mapping, viewer: User, locale: str = "en") -> list[dict[str, Any]]:
    """A page of tickets, with their sync blocks read in one go (not one outbox query per ticket)."""
    session = object_session(tickets[0]) if tickets else None
    if session is None:
        return [ticket_json(t, mapping, viewer, locale) for t in tickets]
    blocks = ticket_syncs(session, tickets, locale)
    slas = ticket_slas(session, tickets, mapping, locale)
    memo: dict[tuple[str, str], Any] = {}
    return [ticket_json(t, mapping, viewer, locale, sync_block=blocks[t.id], memo=memo, sla=slas[t.id])
            for t in tickets]


def comment_json(comment: Comment, body_html: str, locale: str = "en") -> dict[str, Any]:
    """One public comment; a customer's comment not yet in JSM carries its outbox state."""
    sync: dict[str, Any] = {"state": SyncBlock.SYNCED if comment.jira_id else SyncBlock.PENDING}
    if comment.jira_id is None and comment.outbox_action_id is not None and object_session(comment) is not None:
        sync = comment_sync(object_session(comment), comment, locale)
    return {"id": comment.jira_id, "author": comment.author_name, "from_support": comment.from_support,
            "body_html": body_html, "created": iso(comment.created_at), "sync": sync}


def history_json(entry: StatusHistory) -> dict[str, Any]:
    """One customer-visible status change."""
    return {"status": entry.customer_status, "at": iso(entry.at)}


def action_json(action: OutboxAction, locale: str = "en", admin: bool = False) -> dict[str, Any]:
    """One outbox action as the API shows it (admins also get JSM's own answer and the attempts)."""
    data: dict[str, Any] = {"id": action.id, "uuid": action.uuid, "action": action.kind, "state": action.state,
                            "error": customer_message(action.error, locale), "result_key": action.result_key,
                            "created": iso(action.created_at), "updated": iso(action.updated_at)}
    if admin:
        data.update(attempts=action.attempts, error_detail=action.error, jira_response=action.jira_response,
                    next_attempt_at=iso(action.next_attempt_at), user_id=action.user_id,
                    ticket_id=action.ticket_id)
    return data


class SyncBlock(StrEnum):
    """The API's `sync.state`: in step with JSM, an action still owed to it, or the last one refused."""

    SYNCED = "synced"
    PENDING = "pending"
    FAILED = "failed"


def _sync_block(ticket: Ticket, pending: list[OutboxAction], latest: OutboxAction | None,
                locale: str) -> dict[str, Any]:
    state, error = SyncBlock.SYNCED, None
    if pending:
        state = SyncBlock.PENDING
    elif latest is not None and latest.state == OutboxState.FAILED:
        state, error = SyncBlock.FAILED, customer_message(latest.error, locale)
    return {"state": state, "last_synced": iso(ticket.last_synced_at), "error": error,
            "pending": [{"id": a.id, "action": a.kind, "state": a.state} for a in pending]}


def ticket_sync(session: Session, ticket: Ticket, locale: str = "en") -> dict[str, Any]:
    """The ticket's `sync` block from its outbox: pending while an action is owed, failed if the last one failed."""
    recent = list(session.scalars(select(OutboxAction).where(OutboxAction.ticket_id == ticket.id)
                                  .order_by(OutboxAction.id.desc()).limit(20)))
    pending = [a for a in reversed(recent) if a.state in OUTBOX_IN_FLIGHT]
    return _sync_block(ticket, pending, recent[0] if recent else None, locale)


def ticket_syncs(session: Session, tickets: list[Ticket], locale: str = "en") -> dict[int, dict[str, Any]]:
    """`ticket_sync` for a page of tickets in two queries instead of one per ticket."""
    ids = [t.id for t in tickets]
    if not ids:
        return {}
    in_flight: dict[int, list[OutboxAction]] = {}
    for action in session.scalars(select(OutboxAction).where(OutboxAction.ticket_id.in_(ids),
                                                             OutboxAction.state.in_(OUTBOX_IN_FLIGHT))
                                  .order_by(OutboxAction.id)):
        in_flight.setdefault(action.ticket_id, []).append(action)
    latest_ids = select(func.max(OutboxAction.id)).where(OutboxAction.ticket_id.in_(ids)) \
        .group_by(OutboxAction.ticket_id)
    latest = {a.ticket_id: a for a in session.scalars(select(OutboxAction).where(OutboxAction.id.in_(latest_ids)))}
    return {t.id: _sync_block(t, in_flight.get(t.id, []), latest.get(t.id), locale) for t in tickets}


def comment_sync(session: Session, comment: Comment, locale: str = "en") -> dict[str, Any]:
    """A comment's `sync` block: synced once JSM gave it an id, else its action's state."""
    if comment.jira_id or comment.outbox_action_id is None:
        return {"state": SyncBlock.SYNCED if comment.jira_id else SyncBlock.PENDING}
    action = session.get(OutboxAction, comment.outbox_action_id)
    if action is None:
        return {"state": SyncBlock.PENDING}
    state = {OutboxState.DONE: SyncBlock.SYNCED}.get(action.state, action.state)
    return {"state": state, "error": customer_message(action.error, locale) if state == OutboxState.FAILED else None}
