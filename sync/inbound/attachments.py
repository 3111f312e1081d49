"""The attachment mirror: customer-visible attachments of tickets, refreshed from servicedeskapi.

Only what `GET /request/{key}/attachment` lists (customer-visible) is stored; `fields.attachment` of
webhooks and searches includes internal files, so it is used only to notice that something changed.
Its ids as of the last refresh are kept in SyncState (`attachments:<ticket jira id>`), so reconcile
asks JSM only when they differ. Webhooks never call JSM: the inbox drain enqueues `refresh` on
`maintenance` (`sync.jobs`).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.jsm.gateway import gateway_for
from sync.jsm.parse import webhook_attachment_change
from sync.jsm.snapshots import parse_time
from sync.jsm.values import RequestAttachment
from sync.models import Attachment, SyncState, Ticket

if TYPE_CHECKING:
    from sync.jsm.gateway import JsmGateway
    from sync.runtime import Runtime

log = logging.getLogger(__name__)


def _state_name(ticket_jira_id: str) -> str:
    return f"attachments:{ticket_jira_id}"


def known_field_ids(session: Session, ticket_jira_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """`fields.attachment` ids seen at each ticket's last refresh (tickets never refreshed: absent)."""
    names = {_state_name(j): j for j in ticket_jira_ids}
    if not names:
        return {}
    rows = session.scalars(select(SyncState).where(SyncState.name.in_(list(names))))
    return {names[r.name]: tuple((r.value or {}).get("ids") or ()) for r in rows}


def needs_refresh(field_ids: tuple[str, ...] | None, known: tuple[str, ...] | None) -> bool:
    """True when `fields.attachment` differs from what the last refresh saw (no field → no opinion)."""
    if field_ids is None:
        return False
    return tuple(sorted(field_ids)) != tuple(known or ())


def apply_attachments(session: Session, ticket: Ticket, listed: list[RequestAttachment],
                      field_ids: tuple[str, ...] | None) -> int:
    """Make the ticket's mirrored attachments exactly the listed ones; returns rows changed."""
    current = {a.jira_id: a for a in session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id))}
    changed = 0
    for item in listed:
        row = current.pop(item.jira_id, None)
        values: dict[str, Any] = {"filename": item.filename[:255], "size": item.size,
                                  "mime_type": (item.mime_type or None) and item.mime_type[:255],
                                  "created_at": parse_time(item.created_ms),
                                  "author_name": item.author_name and item.author_name[:255], "deleted": False}
        if row is None:
            # Unique on jira_id: an id already held by another ticket (moved issue) is taken over.
            row = session.scalar(select(Attachment).where(Attachment.jira_id == item.jira_id))
            if row is None:
                row = Attachment(ticket_id=ticket.id, jira_id=item.jira_id, **values)
                session.add(row)
                changed += 1
                continue
            row.ticket_id = ticket.id
        if any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            changed += 1
    for gone in current.values():  # deleted in JSM, or no longer customer-visible
        if not gone.deleted:
            gone.deleted = True
            changed += 1
    if field_ids is not None:
        state = session.get(SyncState, _state_name(ticket.jira_id))
        if state is None:
            session.add(SyncState(name=_state_name(ticket.jira_id), value={"ids": sorted(field_ids)}))
        else:
            state.value = {"ids": sorted(field_ids)}
    session.flush()
    return changed


def refresh(runtime: Runtime, issue_key: str, field_ids: list[str] | None = None,
            gateway: JsmGateway | None = None) -> dict[str, Any]:
    """Ask servicedeskapi for a ticket's customer-visible attachments and store them (no lock held over HTTP)."""
    with runtime.sessions() as session:
        exists = session.scalar(select(Ticket.id).where(Ticket.key == issue_key, Ticket.deleted.is_(False)))
    if exists is None:
        return {"key": issue_key, "state": "not mirrored"}
    listed = (gateway or gateway_for(runtime)).list_request_attachments(issue_key)
    with runtime.sessions() as session, session.begin():
        ticket = session.scalar(select(Ticket).where(Ticket.key == issue_key))
        if ticket is None:
            return {"key": issue_key, "state": "not mirrored"}
        ids = tuple(field_ids) if field_ids is not None else None
        changed = apply_attachments(session, ticket, listed, ids)
    return {"key": issue_key, "state": "refreshed", "listed": len(listed), "changed": changed}


def changes_in_rows(payloads: Iterable[str]) -> dict[str, list[str] | None]:
    """Issue keys whose webhook (raw inbox payload) shows attachments added or removed, with their ids."""
    def bodies() -> Iterator[Any]:
        for payload in payloads:
            with contextlib.suppress(ValueError):
                yield json.loads(payload)

    return changes_in_bodies(bodies())


def changes_in_bodies(bodies: Iterable[Any]) -> dict[str, list[str] | None]:
    """The same for webhook bodies already parsed (an inbox batch parsed them to apply them)."""
    found: dict[str, list[str] | None] = {}
    for body in bodies:
        change = webhook_attachment_change(body)
        if change is not None:
            key, ids = change
            found[key] = list(ids) if ids is not None else None
    return found
