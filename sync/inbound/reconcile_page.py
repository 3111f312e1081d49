"""One page of a reconcile: read what the store holds of it, ask JSM what the search did not say, write it.

A page is read and written in one transaction when it needs no JSM call (the usual case: nothing to
list). Otherwise the calls happen between two transactions: after the store was read, so what JSM
answers is newer than what the store was seen to hold (`sync.inbound.reconcile_comments`), and
outside any transaction, so no row lock is held across HTTP. The project's watermark (max `updated`
applied, epoch ms, in SyncState) moves in the transaction that writes the page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.inbound import attachments, reconcile_comments
from sync.inbound.batch import BatchCache
from sync.inbound.seen_ids import SeenIds
from sync.inbound.sql import one_of
from sync.inbound.upsert import apply_comment, apply_issue
from sync.jsm.gateway import JsmGateway
from sync.jsm.snapshots import CommentSnapshot, IssueSnapshot
from sync.jsm.values import RequestAttachment, SearchHit, SearchPage
from sync.models import Organization, SyncState, Ticket, utcnow

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class PageCounts:
    """What one page changed."""

    changed: int = 0
    unchanged: int = 0
    comments: int = 0


def state_name(project: str) -> str:
    """The SyncState row holding a project's reconcile watermark."""
    return f"reconcile:{project}"


def _advance(session: Session, project: str, newest_ms: int, full: bool) -> None:
    row = session.get(SyncState, state_name(project))
    if row is None:
        row = SyncState(name=state_name(project), value={})
        session.add(row)
    value = dict(row.value or {})
    value["watermark_ms"] = max(int(value.get("watermark_ms") or 0), newest_ms)
    value["last_run_at"] = utcnow().isoformat()
    if full:
        value["last_full_page_at"] = value["last_run_at"]
    row.value = value  # a new dict, so the JSON column is seen as changed


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


@dataclass(frozen=True)
class _Held:
    """What the store holds of a page's tickets, read before JSM is asked anything about them."""

    tickets: dict[str, tuple[datetime, bool, str | None]]  # JSM id → (updated, deleted, JSM organisation)
    comments: reconcile_comments.StoredComments
    files: dict[str, tuple[str, ...]]  # JSM id → `fields.attachment` ids at the last refresh

    @classmethod
    def read(cls, session: Session, ids: list[str]) -> _Held:
        tickets = select(Ticket.jira_id, Ticket.jira_updated_at, Ticket.deleted, Organization.jira_org_id) \
            .outerjoin(Organization, Organization.id == Ticket.organization_id) \
            .where(one_of(session, Ticket.jira_id, ids))
        return cls({jid: (upd, dele, jira_org) for jid, upd, dele, jira_org in session.execute(tickets)},
                   reconcile_comments.read_stored(session, ids), attachments.known_field_ids(session, ids))

    def asks_jsm(self, page: SearchPage) -> bool:
        """Whether applying the page needs a JSM call (a comment listing, an attachment list)."""
        return any(reconcile_comments.needs_listing(h, self.comments) or self.refreshes_files(h) for h in page.hits)

    def refreshes_files(self, hit: SearchHit) -> bool:
        # servicedeskapi is asked only when `fields.attachment` differs from the last refresh.
        return attachments.needs_refresh(hit.attachment_ids, self.files.get(hit.issue.jira_id))


@dataclass(frozen=True)
class _Answers:
    """What JSM answered about a page beyond the search: settled comments, attachment lists."""

    comments: dict[str, reconcile_comments.HitComments]
    files: dict[str, list[RequestAttachment]]

    @classmethod
    def ask(cls, gw: JsmGateway, page: SearchPage, held: _Held) -> _Answers:
        return cls({h.issue.jira_id: reconcile_comments.compare(gw, h, held.comments) for h in page.hits},
                   {h.issue.jira_id: gw.list_request_attachments(h.issue.key) for h in page.hits
                    if held.refreshes_files(h)})


def apply_page(runtime: Runtime, gw: JsmGateway, project: str, page: SearchPage, full: bool,
               seen: SeenIds) -> PageCounts:
    """Apply one search page in one transaction (two when JSM must be asked about it); `seen` gets its ids."""
    ids = [h.issue.jira_id for h in page.hits]
    with runtime.sessions() as session:
        with session.begin():
            held = _Held.read(session, ids)
            if not held.asks_jsm(page):
                # Nothing to ask JSM (the usual page): written in the transaction that read it.
                return _write_page(session, runtime, project, page, full, seen, held, _Answers.ask(gw, page, held))
        # JSM calls happen outside any transaction, so no row lock is held across HTTP; and after the
        # store was read, so what they answer is newer than what the store was seen to hold.
        answers = _Answers.ask(gw, page, held)
        with session.begin():
            return _write_page(session, runtime, project, page, full, seen, held, answers)


def _write_page(session: Session, runtime: Runtime, project: str, page: SearchPage, full: bool, seen: SeenIds,
                held: _Held, answers: _Answers) -> PageCounts:
    settled, files = answers.comments, answers.files
    result = PageCounts()
    mapping = runtime.mapping
    # What the page writes: tickets the store does not hold as they are, comments new, changed,
    # restored or gone. A page with nothing to write reads nothing more.
    to_apply = {h.issue.jira_id for h in page.hits if not _current(h.issue, held.tickets.get(h.issue.jira_id))}
    stored = held.comments
    comments = {h.issue.jira_id: [c for c in settled[h.issue.jira_id].comments
                                  if c.jira_id in settled[h.issue.jira_id].restored
                                  or not (stored.is_current(c) and stored.live[c.jira_id][1] == bool(c.public))]
                for h in page.hits}
    stubs = {h.issue.jira_id: [CommentSnapshot(gone, None, "", None, None, False)
                               for gone in settled[h.issue.jira_id].gone] for h in page.hits}
    writes = [c for cs in (*comments.values(), *stubs.values()) for c in cs]
    # The page's rows in a few set reads, as an inbox batch does: applied one by one, a ticket
    # cost four round trips, and a big site's full reconcile was bound by them, not by JSM.
    batch = BatchCache.for_snapshots(session, [h.issue for h in page.hits], writes) \
        if to_apply or writes else BatchCache()
    for hit in page.hits:
        issue = hit.issue
        seen.add(issue.jira_id)
        if issue.jira_id not in to_apply:
            result.unchanged += 1
        elif apply_issue(session, issue, mapping, batch=batch).reason in ("created", "updated"):
            result.changed += 1
        else:
            result.unchanged += 1
        if issue.jira_id in files:
            batch.settle(session)
            ticket = session.scalar(select(Ticket).where(Ticket.jira_id == issue.jira_id))
            if ticket is not None:
                attachments.apply_attachments(session, ticket, files[issue.jira_id], hit.attachment_ids)
        found = settled[issue.jira_id]
        if found.restored:
            log.warning("comments %s of %s were stored as deleted, yet JSM lists them: shown again",
                        ", ".join(sorted(found.restored)), issue.key)
        for c in comments[issue.jira_id]:
            # Internal ones are stored too, never as public (as the webhook path does), so they
            # count as known next time and cost no visibility lookup.
            if apply_comment(session, issue.jira_id, c, public=c.public is True,
                             restore=c.jira_id in found.restored, batch=batch).changed:
                result.comments += 1
        for stub in stubs[issue.jira_id]:
            if apply_comment(session, issue.jira_id, stub, deleted=True, batch=batch).changed:
                result.comments += 1
    batch.settle(session)
    newest = max((_ms(h.issue.updated) for h in page.hits), default=0)
    if newest:
        _advance(session, project, newest, full)
    return result


def _current(issue: IssueSnapshot, stored: tuple[datetime, bool, str | None] | None) -> bool:
    """Whether the store holds this search hit already (same `updated`, not deleted, right tenancy)."""
    return stored is not None and not stored[1] and stored[0] == issue.updated and not _unshared(issue, stored[2])


def _unshared(issue: IssueSnapshot, stored_jira_org: str | None) -> bool:
    """Whether the ticket is held by a JSM organisation the request is no longer shared with.

    Such a ticket is applied again even when its `updated` has not moved, so reconciliation repairs
    tenancy an earlier version (or a missed webhook) left behind.
    """
    return (issue.organisations_known and stored_jira_org is not None
            and stored_jira_org not in {o.jira_id for o in issue.organisations})
