"""Status history of a ticket: one entry per customer-visible change, idempotent and order-safe."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from mappings import Mapping, StatusResolution
from sync.inbound.rows import HistoryRow, TicketRow
from sync.jsm.snapshots import IssueSnapshot, StatusChange
from sync.models import StatusHistory, Ticket

if TYPE_CHECKING:
    from sync.inbound.batch import BatchCache


def record_history(session: Session, ticket: Ticket | TicketRow, at: datetime, changelog_id: str | None,
                   status: str | None = None, jira_status_name: str | None = None,
                   batch: BatchCache | None = None) -> None:
    """Add a history entry for `ticket` unless the same change is already recorded."""
    # Idempotent two ways: by changelog id (a redelivered event), and by (status, at), because the
    # same change can arrive once from reconcile (no changelog id) and once from its webhook.
    status = status or ticket.customer_status
    if batch is not None and isinstance(ticket, TicketRow):
        # The same rule, for the whole batch at once when it settles (`sync.inbound.write.write_history`).
        batch.add_history(HistoryRow(ticket, status, jira_status_name or ticket.jira_status_name, at, changelog_id))
        return
    same = and_(StatusHistory.customer_status == status, StatusHistory.at == at)
    if changelog_id is not None:
        same = or_(same, StatusHistory.changelog_id == changelog_id)
    if session.scalars(select(StatusHistory.id).where(StatusHistory.ticket_id == ticket.id, same)).first():
        return
    session.add(StatusHistory(ticket_id=ticket.id, customer_status=status,
                              jira_status_name=jira_status_name or ticket.jira_status_name, at=at,
                              changelog_id=changelog_id))


def record_late_history(session: Session, ticket: Ticket | TicketRow, issue: IssueSnapshot,
                        changes: tuple[StatusChange, ...], at: datetime, changelog_id: str | None,
                        mapping: Mapping, batch: BatchCache | None = None) -> None:
    """History of an event older than the ticket: its changelog's customer-visible status change."""
    if not changes or changelog_id is None:
        return
    change = changes[-1]
    # Changelog items carry no status category: record only what the mapping resolves by itself,
    # never a category guess, and only changes a customer can see (from and to map differently).
    def resolve(sid: str | None, name: str | None) -> StatusResolution:
        return mapping.resolve_status(sid, name, None, project_key=issue.project_key,
                                      request_type_id=issue.request_type_id)

    before, after = resolve(change.from_id, change.from_name), resolve(change.to_id, change.to_name)
    if after.fell_back or (not before.fell_back and before.key == after.key):
        return
    rows = session.scalars(select(StatusHistory).where(StatusHistory.ticket_id == ticket.id)
                           .order_by(StatusHistory.at)).all()
    earlier = [r for r in rows if r.at < at]
    later = [r for r in rows if r.at > at]
    if earlier and earlier[-1].customer_status == after.key:
        return  # the customer saw no change at this point
    if later and later[0].customer_status == after.key and later[0].changelog_id is None:
        # The next entry only observed this status later (a reconcile or an event without a changelog,
        # e.g. the ticket's first sighting): the changelog tells when the change really happened.
        later[0].at, later[0].changelog_id = at, changelog_id
        return
    record_history(session, ticket, at, changelog_id, after.key, change.to_name, batch)
