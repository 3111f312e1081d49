"""RQ job entry points. Jobs take ids (or nothing) and find their connections through the runtime."""

from __future__ import annotations

import logging
import time

from sqlalchemy import func, select

from sync.attachments import changes_in_rows, enqueue_refreshes

# apply_inbox_row and BATCH_SIZE are imported from here by bench/economy.py and bench/apply.py.
from sync.inbox_apply import BATCH_SIZE, apply_inbox_row, apply_inbox_rows, ready_rows  # noqa: F401
from sync.models import InboundEvent
from sync.queues import clear_drain_request, request_inbox_drain
from sync.runtime import get_runtime
from sync.sync_health import publish_jsm_calls

log = logging.getLogger(__name__)

# An RQ drain job that has seen LINGER_MIN_ROWS rows keeps polling every LINGER_POLL_SECONDS until the
# inbox stays empty for LINGER_IDLE_SECONDS, for at most LINGER_MAX_SECONDS (see drain_inbox).
LINGER_MIN_ROWS = 20
LINGER_POLL_SECONDS = 0.05
LINGER_IDLE_SECONDS = 1.0
LINGER_MAX_SECONDS = 10.0


def _in_rq_job() -> bool:
    from rq import get_current_job

    return get_current_job() is not None


def drain_inbox(limit: int = BATCH_SIZE) -> dict[str, int]:
    """Apply ready inbox rows in batches until none is left; returns counts by resulting state."""
    runtime = get_runtime()
    clear_drain_request(runtime.redis)
    counts: dict[str, int] = {}
    deferred: list[int] = []
    started = idle_since = time.monotonic()
    linger = _in_rq_job()
    seen = 0
    while True:
        mapping = runtime.mapping  # cached per process for a few seconds; a long drain sees a new one
        with runtime.sessions() as session, session.begin():
            rows = ready_rows(session, limit)
            apply_inbox_rows(session, rows, mapping)
            for row in rows:
                if row.state == "pending":
                    deferred.append(row.id)
                else:
                    counts[row.state] = counts.get(row.state, 0) + 1
            attachment_changes = changes_in_rows(r.payload for r in rows if r.state == "applied")
        if attachment_changes:  # after the commit: a refresh calls JSM, never inside this transaction
            enqueue_refreshes(runtime.redis, attachment_changes)
        seen += len(rows)
        if len(rows) == limit:
            continue
        now = time.monotonic()
        if rows:
            idle_since = now
        # Under steady traffic an RQ drain job keeps polling instead of returning: each job runs in a
        # freshly forked work-horse that opens its connections and loads the mapping again (about half
        # a second of CPU, which starved the web workers at 200 events/s). Bounded, so a worker that
        # also serves `outbound` gets back to it; a quiet inbox (and any direct call) returns at once.
        if not linger or seen < LINGER_MIN_ROWS or now - idle_since >= LINGER_IDLE_SECONDS \
                or now - started >= LINGER_MAX_SECONDS:
            break
        time.sleep(LINGER_POLL_SECONDS)  # lets a few rows gather: fewer, larger batches
    if deferred and counts.get("applied"):
        # A comment often arrives before its issue: once this drain has applied other rows, the ticket
        # may exist now, so give the rows deferred during this drain one more try at once.
        with runtime.sessions() as session, session.begin():
            rows = ready_rows(session, limit, deferred)
            apply_inbox_rows(session, rows, mapping)
            for row in rows:
                if row.state != "pending":
                    counts[row.state] = counts.get(row.state, 0) + 1
                    deferred.remove(row.id)
    if deferred:
        counts["deferred"] = len(deferred)
    # Calls the "ask JSM" path made for comment visibility, for the admin's "JSM calls" numbers.
    for gateway in runtime.gateways_made():
        publish_jsm_calls(_redis_or_none(runtime), gateway)
    return counts


def _redis_or_none(runtime):  # type: ignore[no-untyped-def]
    try:
        return runtime.redis
    except Exception:  # statistics only: an unreachable Redis must not fail a job
        return None


def refresh_attachments(issue_key: str, field_ids: list[str] | None = None) -> dict[str, object]:
    """Maintenance: mirror a ticket's customer-visible attachments after a webhook showed a change."""
    from sync.attachments import refresh

    return refresh(get_runtime(), issue_key, field_ids)


def sweep() -> dict[str, int]:
    """Cron: re-enqueue work that a Redis outage or a killed worker left behind."""
    runtime = get_runtime()
    with runtime.sessions() as session:
        pending = session.scalar(select(func.count()).select_from(InboundEvent)
                                 .where(InboundEvent.state == "pending")) or 0
    if pending:
        request_inbox_drain(runtime.redis)
    from sync.outbound_jobs import sweep_outbox  # issue #6: outbox actions stuck by Redis or a dead worker

    outbox = sweep_outbox()
    return {"inbox_pending": pending, **(outbox if outbox["outbox_due"] else {})}


def reconcile_incremental(project: str | None = None) -> dict[str, int]:
    """Cron: fetch what changed in JSM since the watermark (minus the overlap) and apply it."""
    return _reconcile(full=False, project=project)


def reconcile_full(project: str | None = None) -> dict[str, int]:
    """Compare every ticket with JSM, applying changes and hiding tickets deleted there."""
    return _reconcile(full=True, project=project)


def _reconcile(*, full: bool, project: str | None) -> dict[str, int]:
    from sync.reconcile import reconcile

    runtime = get_runtime()
    gateway = runtime.gateway()
    try:
        return reconcile(runtime, full=full, project=project, gateway=gateway).as_dict()
    finally:
        publish_jsm_calls(_redis_or_none(runtime), gateway)


REPROJECT_PROGRESS_KEY = "companion:mapping:reproject"


def reproject_all(version: int | None = None) -> dict[str, object]:
    """Maintenance: re-project every ticket under the active mapping (after a publish), with progress."""
    import json as _json

    from sync import reproject
    from sync.mapping_store import forget_cache

    runtime = get_runtime()
    forget_cache()
    mapping = runtime.mapping

    def progress(done: int, total: int) -> None:
        runtime.redis.set(REPROJECT_PROGRESS_KEY, _json.dumps({"version": version, "done": done, "total": total,
                                                                "state": "running"}), ex=3600)

    with runtime.sessions() as session, session.begin():
        result = reproject.apply(session, mapping, progress)
    summary = {"version": version, "state": "done", **result.as_dict()}
    runtime.redis.set(REPROJECT_PROGRESS_KEY, _json.dumps(summary), ex=86_400)
    return summary


def discover_vocabulary() -> dict[str, int]:
    """Maintenance (hourly): ask JSM for every status, priority and request type (the unmapped report)."""
    from sync.vocabulary import discover

    found = discover(get_runtime())
    return {name: len(found[name]) for name in ("statuses", "priorities", "request_types")}
