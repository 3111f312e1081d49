"""JQL reconciliation: repair what webhooks missed (incremental) or compare everything (full).

Every write goes through `sync.inbound.upsert.apply_issue`/`apply_comment`, so reconcile and webhooks
agree on order safety. The per-project watermark (max `updated` applied, epoch ms, in SyncState)
only moves after a page is committed, so a run broken by a JSM 429/5xx resumes where it got to.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.inbound import attachments
from sync.inbound.batch import BatchCache
from sync.inbound.site_fields import remember_organisations_fields
from sync.inbound.upsert import apply_comment, apply_issue
from sync.jsm.events import CommentSnapshot, IssueSnapshot
from sync.jsm.gateway import JsmGateway, gateway_for
from sync.jsm.values import SearchHit, SearchPage
from sync.models import Comment, Organization, SyncState, Ticket, utcnow

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)
PAGE_SIZE = 100  # Cloud's enhanced search caps pages at 100 once fields are asked for
DELETION_CHUNK = 5000  # rows per fetch while looking for tickets the search no longer returns
LOCK_TTL_MS = 10 * 60 * 1000  # renewed after every page, so only a dead run lets it lapse
Progress = Callable[[int, "int | None"], None]


@dataclass
class ReconcileResult:
    """Counts of one reconciliation run."""

    projects: int = 0
    fetched: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    comments: int = 0
    pages: int = 0
    jsm_calls: int = 0
    busy: int = 0  # projects skipped because another reconcile of them was running

    def as_dict(self) -> dict[str, int]:
        """Plain counts (the RQ job's return value, the CLI's summary)."""
        return asdict(self)


class ProjectLock:
    """A Redis lock per project; a stale holder's TTL lapses. Redis down → run unlocked (applies are
    order-safe and the watermark only moves forward, so overlapping runs waste calls, not data)."""

    _EXTEND = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end "
               "return 0")
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, client: redis.Redis | None, project: str) -> None:
        self.client, self.key, self.token = client, f"companion:reconcile:lock:{project}", uuid.uuid4().hex

    def acquire(self) -> bool:
        if self.client is None:
            return True
        try:
            return bool(self.client.set(self.key, self.token, nx=True, px=LOCK_TTL_MS))
        except redis.RedisError as exc:
            log.warning("reconcile lock unavailable (%s); running unlocked", exc)
            self.client = None
            return True

    def extend(self) -> None:
        if self.client is not None:
            with contextlib.suppress(redis.RedisError):  # losing Redis mid-run is not a reason to stop
                self.client.eval(self._EXTEND, 1, self.key, self.token, str(LOCK_TTL_MS))

    def release(self) -> None:
        if self.client is not None:
            with contextlib.suppress(redis.RedisError):  # else the TTL frees it
                self.client.eval(self._RELEASE, 1, self.key, self.token)


def _state_name(project: str) -> str:
    return f"reconcile:{project}"


def watermark(runtime: Runtime, project: str) -> int | None:
    """The project's watermark: epoch ms of the newest `updated` applied by reconciliation."""
    with runtime.sessions() as session:
        row = session.get(SyncState, _state_name(project))
        value = (row.value or {}).get("watermark_ms") if row else None
        return int(value) if value is not None else None


def _advance(session: Session, project: str, newest_ms: int, full: bool) -> None:
    row = session.get(SyncState, _state_name(project))
    if row is None:
        row = SyncState(name=_state_name(project), value={})
        session.add(row)
    value = dict(row.value or {})
    value["watermark_ms"] = max(int(value.get("watermark_ms") or 0), newest_ms)
    value["last_run_at"] = utcnow().isoformat()
    if full:
        value["last_full_page_at"] = value["last_run_at"]
    row.value = value  # a new dict, so the JSON column is seen as changed


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def _stub(ticket_jira_id: str, key: str, project: str) -> IssueSnapshot:
    return IssueSnapshot(ticket_jira_id, key, project, "", None, None, None, None, None, None, None, None, None,
                         None, None, None, None, None)


def _comments_of(gw: JsmGateway, hit: SearchHit, known: dict[str, tuple[datetime, bool]]) -> tuple[
        list[CommentSnapshot], bool]:
    """The hit's comments with `public` settled, and whether the list is complete (for deletions)."""
    # A comment we already hold unchanged keeps the visibility we stored; only new or edited ones
    # without a flag (Data Center search results carry no `jsdPublic`), or a list the search
    # truncated, cost a servicedeskapi call.
    comments = [_with_public(c, known[c.jira_id][1]) if c.public is None and _is_current(c, known) else c
                for c in hit.comments]
    if hit.comments_complete and all(c.public is not None for c in comments):
        return comments, True
    from_sd = {c.jira_id: c for c in gw.list_comments(hit.issue.key, include_internal=True)}
    settled = [c if c.public is not None else _with_public(c, bool((sd := from_sd.get(c.jira_id)) and sd.public))
               for c in comments]
    seen = {c.jira_id for c in settled}
    settled.extend(c for cid, c in from_sd.items() if cid not in seen)
    return settled, True


def _with_public(c: CommentSnapshot, public: bool) -> CommentSnapshot:
    # Missing from servicedeskapi's list (deleted since, or not visible) means never public.
    return CommentSnapshot(c.jira_id, c.author, c.body, c.created, c.updated, public)


def _is_current(c: CommentSnapshot, known: dict[str, tuple[datetime, bool]]) -> bool:
    stored = known.get(c.jira_id)
    return stored is not None and c.updated is not None and stored[0] >= c.updated


def _apply_page(runtime: Runtime, gw: JsmGateway, project: str, page: SearchPage, full: bool,
                result: ReconcileResult, seen: set[str]) -> None:
    ids = [h.issue.jira_id for h in page.hits]
    with runtime.sessions() as session:
        stored = {jid: (upd, dele, jira_org) for jid, upd, dele, jira_org in session.execute(
            select(Ticket.jira_id, Ticket.jira_updated_at, Ticket.deleted, Organization.jira_org_id)
            .outerjoin(Organization, Organization.id == Ticket.organization_id).where(Ticket.jira_id.in_(ids)))}
        known: dict[str, tuple[datetime, bool]] = {}
        by_ticket: dict[str, set[str]] = {}
        for tid, cid, upd, public in session.execute(
                select(Ticket.jira_id, Comment.jira_id, Comment.updated_at, Comment.public).join(Ticket)
                .where(Ticket.jira_id.in_(ids), Comment.jira_id.is_not(None), Comment.deleted.is_(False))):
            if cid is None:  # excluded by the query; narrows the type
                continue
            known[cid] = (upd, public)
            by_ticket.setdefault(tid, set()).add(cid)
        seen_files = attachments.known_field_ids(session, ids)
    # JSM calls happen before the transaction opens, so no row lock is held across HTTP.
    settled = {h.issue.jira_id: _comments_of(gw, h, known) for h in page.hits}
    # Attachments: servicedeskapi is asked only when `fields.attachment` differs from the last refresh.
    files = {h.issue.jira_id: gw.list_request_attachments(h.issue.key) for h in page.hits
             if attachments.needs_refresh(h.attachment_ids, seen_files.get(h.issue.jira_id))}
    mapping = runtime.mapping
    # What this page writes: tickets not already current, comments new or changed, comments gone.
    to_apply = [h.issue for h in page.hits if not _current(h.issue, stored.get(h.issue.jira_id))]
    to_comment = {h.issue.jira_id: [c for c in settled[h.issue.jira_id][0]
                                    if not (_is_current(c, known) and known[c.jira_id][1] == bool(c.public))]
                  for h in page.hits}
    gone = {h.issue.jira_id: by_ticket.get(h.issue.jira_id, set()) - {c.jira_id for c in settled[h.issue.jira_id][0]}
            if settled[h.issue.jira_id][1] else set() for h in page.hits}
    stubs = [CommentSnapshot(cid, None, "", None, None, False) for ids in gone.values() for cid in ids]
    with runtime.sessions() as session, session.begin():
        # The page's rows in a few set reads (as an inbox batch does): applied one by one, a ticket
        # cost four round trips, and a full reconcile of a big site was bound by them, not by JSM.
        writes = [c for cs in to_comment.values() for c in cs] + stubs
        batch = BatchCache.for_snapshots(session, [h.issue for h in page.hits], writes) \
            if to_apply or writes else BatchCache()
        applying = {i.jira_id for i in to_apply}
        for hit in page.hits:
            issue = hit.issue
            seen.add(issue.jira_id)
            if issue.jira_id not in applying:
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
            # Internal ones are stored too, never as public (as the webhook path does), so they
            # count as known next time and cost no visibility lookup.
            for c in to_comment[issue.jira_id]:
                if _comment(session, issue.jira_id, c, batch, public=c.public is True):
                    result.comments += 1
            for cid in gone[issue.jira_id]:
                stub = CommentSnapshot(cid, None, "", None, None, False)
                if _comment(session, issue.jira_id, stub, batch, deleted=True):
                    result.comments += 1
        batch.settle(session)
        newest = max((_ms(h.issue.updated) for h in page.hits), default=0)
        if newest:
            _advance(session, project, newest, full)


def _current(issue: IssueSnapshot, stored: tuple[datetime, bool, str | None] | None) -> bool:
    """Whether the stored ticket already holds this search hit (same `updated`, alive, right tenancy)."""
    return stored is not None and not stored[1] and stored[0] == issue.updated and not _unshared(issue, stored[2])


def _comment(session: Session, issue_jira_id: str, comment: CommentSnapshot, batch: BatchCache, *,
             public: bool | None = None, deleted: bool = False) -> bool:
    """Apply one comment through the page's cache (which holds every ticket of a page that writes)."""
    return apply_comment(session, issue_jira_id, comment, public=public, deleted=deleted, batch=batch).changed


def _unshared(issue: IssueSnapshot, stored_jira_org: str | None) -> bool:
    """Whether the ticket is held by a JSM organisation the request is no longer shared with.

    Such a ticket is applied again even when its `updated` has not moved, so reconciliation repairs
    tenancy an earlier version (or a missed webhook) left behind.
    """
    return (issue.organisations_known and stored_jira_org is not None
            and stored_jira_org not in {o.jira_id for o in issue.organisations})


def _detect_deletions(runtime: Runtime, gw: JsmGateway, project: str, seen: set[str],
                      result: ReconcileResult) -> None:
    with runtime.sessions() as session:
        # Streamed (a server-side cursor on PostgreSQL): a big site's project holds hundreds of
        # thousands of tickets, and only the few the search did not return are kept.
        rows = session.execute(select(Ticket.jira_id, Ticket.key).where(
            Ticket.project_key == project, Ticket.deleted.is_(False)).execution_options(yield_per=DELETION_CHUNK))
        missing = [(jid, key) for jid, key in rows if jid not in seen]
    for jira_id, key in missing:
        # Confirm each one: an issue created or re-ordered while the search ran is not deleted.
        current = gw.get_issue(jira_id)
        with runtime.sessions() as session, session.begin():
            if current is None:
                if apply_issue(session, _stub(jira_id, key, project), runtime.mapping, deleted=True).changed:
                    result.deleted += 1
            elif apply_issue(session, current, runtime.mapping).reason in ("created", "updated"):
                result.changed += 1


def _projects(runtime: Runtime, gw: JsmGateway, project: str | None) -> list[str]:
    if project:
        return [project.strip().upper()]
    configured = runtime.settings.jira.projects
    return list(configured) if configured else [d.project_key for d in gw.list_service_desks()]


def reconcile(runtime: Runtime, *, full: bool, project: str | None = None, progress: Progress | None = None,
              gateway: JsmGateway | None = None, page_size: int = PAGE_SIZE) -> ReconcileResult:
    """Bring the store in line with JSM for one project or every mirrored one."""
    gw = gateway or gateway_for(runtime)
    calls_before = gw.total_calls()
    result = ReconcileResult()
    overlap = timedelta(seconds=runtime.settings.sync.reconcile_overlap_seconds)
    try:
        with runtime.sessions() as session, session.begin():
            remember_organisations_fields(session, gw.organisations_field_ids())
        for key in _projects(runtime, gw, project):
            lock = ProjectLock(_redis(runtime), key)
            if not lock.acquire():
                log.info("reconcile of %s skipped: another run holds its lock", key)
                result.busy += 1
                continue
            try:
                result.projects += 1
                mark = None if full else watermark(runtime, key)
                since = None if mark is None else datetime.fromtimestamp(mark / 1000, UTC) - overlap
                seen: set[str] = set()
                offset = result.fetched
                for page in gw.search_pages(gw.build_jql([key], since), page_size):
                    _apply_page(runtime, gw, key, page, full, result, seen)
                    lock.extend()
                    result.pages += 1
                    result.fetched += len(page.hits)
                    if progress is not None:
                        progress(result.fetched, None if page.total is None else offset + page.total)
                if full:
                    _detect_deletions(runtime, gw, key, seen, result)
            finally:
                lock.release()
    finally:
        result.jsm_calls = gw.total_calls() - calls_before
    return result


def _redis(runtime: Runtime) -> redis.Redis | None:
    try:
        return runtime.redis
    except Exception as exc:  # an unreachable embedded Redis must not stop a reconcile
        log.warning("Redis unavailable for reconcile (%s): throttle and lock are per-process", exc)
        return None
