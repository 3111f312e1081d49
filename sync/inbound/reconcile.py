"""JQL reconciliation: repair what webhooks missed (incremental) or compare everything (full).

Every write goes through `sync.inbound.upsert.apply_issue`/`apply_comment`, so reconcile and webhooks
agree on order safety. The per-project watermark (max `updated` applied, epoch ms, in SyncState)
only moves after a page is committed, so a run broken by a JSM 429/5xx resumes where it got to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import redis
from sqlalchemy import func, select

from sync.inbound.grown_tables import GrowthAnalyzer
from sync.inbound.reconcile_lock import ProjectLock
from sync.inbound.reconcile_page import apply_page, state_name
from sync.inbound.seen_ids import SeenIds
from sync.inbound.site_fields import remember_organisations_fields, remember_participants_fields
from sync.inbound.upsert import apply_issue
from sync.jsm.gateway import JsmGateway, gateway_for
from sync.jsm.prefetch import Prefetch
from sync.jsm.snapshots import IssueSnapshot
from sync.jsm.values import SearchPage
from sync.models import SyncState, Ticket

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)
PAGE_SIZE = 100  # Cloud's enhanced search caps pages at 100 once fields are asked for
DELETION_CHUNK = 5000  # rows per fetch while looking for tickets the search no longer returns
PREFETCH_PAGES = 1  # one page on its way while one is applied: memory stays two pages
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
    # Where the time went: applying pages to the store, and waiting for the next page from JSM (the
    # throttle and the HTTP call, less what overlapped with applying the page before).
    apply_ms: int = 0
    fetch_wait_ms: int = 0
    deletion_check_ms: int = 0  # a full run's look for tickets the search no longer returns

    def as_dict(self) -> dict[str, int]:
        """Plain counts (the RQ job's return value, the CLI's summary)."""
        return asdict(self)


def watermark(runtime: Runtime, project: str) -> int | None:
    """The project's watermark: epoch ms of the newest `updated` applied by reconciliation."""
    with runtime.sessions() as session:
        row = session.get(SyncState, state_name(project))
        value = (row.value or {}).get("watermark_ms") if row else None
        return int(value) if value is not None else None

def _stub(ticket_jira_id: str, key: str, project: str) -> IssueSnapshot:
    return IssueSnapshot(ticket_jira_id, key, project, "", None, None, None, None, None, None, None, None, None,
                         None, None, None, None, None)

def _detect_deletions(runtime: Runtime, gw: JsmGateway, project: str, seen: SeenIds,
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
        grown = GrowthAnalyzer(runtime)
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
                seen = SeenIds()
                offset = result.fetched
                expected = _expected(runtime, key) if full and progress is not None else None
                # Page N+1 is fetched (through the same throttle) while page N is applied: a run costs
                # max(fetch, apply) per page rather than their sum. Pages are applied in order, so the
                # watermark moves as before, and a failed run has applied every page it fetched.
                with Prefetch(gw.search_pages(gw.build_jql([key], since), page_size), ahead=PREFETCH_PAGES,
                              name=f"reconcile-{key}-pages") as pages:
                    for page in _timed(pages, result):
                        started = time.perf_counter()
                        counts = apply_page(runtime, gw, key, page, full, seen)
                        result.apply_ms += _elapsed_ms(started)
                        result.changed += counts.changed
                        result.unchanged += counts.unchanged
                        result.comments += counts.comments
                        grown.wrote(counts.changed + counts.comments)
                        lock.extend()
                        result.pages += 1
                        result.fetched += len(page.hits)
                        if progress is not None:
                            total = page.total if page.total is not None else expected
                            progress(result.fetched, None if total is None
                                     else offset + max(total, result.fetched - offset))
                if full:
                    started = time.perf_counter()
                    _detect_deletions(runtime, gw, key, seen, result)
                    result.deletion_check_ms += _elapsed_ms(started)
            finally:
                lock.release()
    finally:
        result.jsm_calls = gw.total_calls() - calls_before
    return result


def _timed(pages: Iterable[SearchPage], result: ReconcileResult) -> Iterator[SearchPage]:
    """`pages`, adding the time spent waiting for each to `result.fetch_wait_ms`."""
    source = iter(pages)
    while True:
        started = time.perf_counter()
        page = next(source, None)
        result.fetch_wait_ms += _elapsed_ms(started)
        if page is None:
            return
        yield page


def _elapsed_ms(since: float) -> int:
    return round((time.perf_counter() - since) * 1000)


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
