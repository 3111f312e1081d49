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
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.inbound import attachments, reconcile_comments
from sync.inbound.batch import BatchCache
from sync.inbound.site_fields import remember_organisations_fields, remember_participants_fields
from sync.inbound.upsert import apply_comment, apply_issue
from sync.jsm.gateway import JsmGateway, gateway_for
from sync.jsm.prefetch import Prefetch
from sync.jsm.snapshots import CommentSnapshot, IssueSnapshot
from sync.jsm.values import SearchPage
from sync.models import Organization, SyncState, Ticket, utcnow

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)
PAGE_SIZE = 100  # Cloud's enhanced search caps pages at 100 once fields are asked for
DELETION_CHUNK = 5000  # rows per fetch while looking for tickets the search no longer returns
PREFETCH_PAGES = 1  # one page on its way while one is applied: memory stays two pages
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


def _apply_page(runtime: Runtime, gw: JsmGateway, project: str, page: SearchPage, full: bool,
                result: ReconcileResult, seen: set[str]) -> None:
    ids = [h.issue.jira_id for h in page.hits]
    with runtime.sessions() as session:
        stored = {jid: (upd, dele, jira_org) for jid, upd, dele, jira_org in session.execute(
            select(Ticket.jira_id, Ticket.jira_updated_at, Ticket.deleted, Organization.jira_org_id)
            .outerjoin(Organization, Organization.id == Ticket.organization_id).where(Ticket.jira_id.in_(ids)))}
        held = reconcile_comments.read_stored(session, ids)
        seen_files = attachments.known_field_ids(session, ids)
    # JSM calls happen before the transaction opens, so no row lock is held across HTTP; and after the
    # store was read, so what they answer is newer than what the store was seen to hold.
    settled = {h.issue.jira_id: reconcile_comments.compare(gw, h, held) for h in page.hits}
    # Attachments: servicedeskapi is asked only when `fields.attachment` differs from the last refresh.
    files = {h.issue.jira_id: gw.list_request_attachments(h.issue.key) for h in page.hits
             if attachments.needs_refresh(h.attachment_ids, seen_files.get(h.issue.jira_id))}
    mapping = runtime.mapping
    # What the page writes: tickets the store does not hold as they are, comments new, changed,
    # restored or gone. A page with nothing to write reads nothing more.
    to_apply = {h.issue.jira_id for h in page.hits if not _current(h.issue, stored.get(h.issue.jira_id))}
    comments = {h.issue.jira_id: [c for c in settled[h.issue.jira_id].comments
                                  if c.jira_id in settled[h.issue.jira_id].restored
                                  or not (held.is_current(c) and held.live[c.jira_id][1] == bool(c.public))]
                for h in page.hits}
    stubs = {h.issue.jira_id: [CommentSnapshot(gone, None, "", None, None, False)
                               for gone in settled[h.issue.jira_id].gone] for h in page.hits}
    writes = [c for cs in (*comments.values(), *stubs.values()) for c in cs]
    with runtime.sessions() as session, session.begin():
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
            remember_participants_fields(session, gw.participants_field_ids())
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
                expected = _expected(runtime, key) if full and progress is not None else None
                # Page N+1 is fetched (through the same throttle) while page N is applied: a run costs
                # max(fetch, apply) per page rather than their sum. Pages are applied in order, so the
                # watermark moves as before, and a failed run has applied every page it fetched.
                with Prefetch(gw.search_pages(gw.build_jql([key], since), page_size), ahead=PREFETCH_PAGES,
                              name=f"reconcile-{key}-pages") as pages:
                    for page in pages:
                        _apply_page(runtime, gw, key, page, full, result, seen)
                        lock.extend()
                        result.pages += 1
                        result.fetched += len(page.hits)
                        if progress is not None:
                            total = page.total if page.total is not None else expected
                            progress(result.fetched, None if total is None
                                     else offset + max(total, result.fetched - offset))
                if full:
                    _detect_deletions(runtime, gw, key, seen, result)
            finally:
                lock.release()
    finally:
        result.jsm_calls = gw.total_calls() - calls_before
    return result


def _expected(runtime: Runtime, project: str) -> int | None:
    """How many tickets a full reconcile of `project` should see, for the progress bar's ETA.

    Cloud's search pages carry no total; the store's count of the project's live tickets stands in for
    it (exact once a first run has mirrored the site), and costs no JSM call.
    """
    with runtime.sessions() as session:
        count = session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.project_key == project, Ticket.deleted.is_(False)))
    return int(count) if count else None


def _redis(runtime: Runtime) -> redis.Redis | None:
    try:
        return runtime.redis
    except Exception as exc:  # an unreachable embedded Redis must not stop a reconcile
        log.warning("Redis unavailable for reconcile (%s): throttle and lock are per-process", exc)
        return None
