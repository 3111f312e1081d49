"""RQ job entry points. Jobs take ids (or nothing) and find their connections through the runtime."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import func, or_, select

from sync.events import CommentEvent, IssueEvent, NotAWebhook, normalise
from sync.inbound import Deferred, apply_comment_event, apply_issue_event
from sync.jsm_visibility import with_comment_visibility
from sync.models import InboundEvent, utcnow
from sync.queues import clear_drain_request, request_inbox_drain
from sync.runtime import get_runtime
from sync.sync_health import publish_jsm_calls

log = logging.getLogger(__name__)

BATCH_SIZE = 200
# A deferred event (its ticket not mirrored yet) is retried this many times, then marked failed;
# reconciliation brings the ticket and its comments in any case.
MAX_DEFERRALS = 5


def apply_inbox_row(row: InboundEvent, session, mapping) -> None:
    """Apply one inbox row inside the caller's transaction and set its state."""
    row.attempts += 1
    try:
        # Data Center comment events carry no `jsdPublic`: ask JSM (Deferred if it cannot answer now).
        event = with_comment_visibility(normalise(json.loads(row.payload)), session=session)
        with session.begin_nested():
            if isinstance(event, IssueEvent):
                result = apply_issue_event(session, event, mapping)
            elif isinstance(event, CommentEvent):
                result = apply_comment_event(session, event)
            else:
                row.state, row.reason = "ignored", f"event kind {event.kind} is not mirrored"
                return
        row.state, row.reason, row.applied_at = "applied", result.reason, utcnow()
    except Deferred as exc:
        if row.attempts >= MAX_DEFERRALS:
            row.state, row.reason = "failed", f"{exc}; gave up after {row.attempts} attempts"
        else:
            row.reason = f"deferred: {exc}"
            row.retry_at = utcnow() + timedelta(seconds=15 * row.attempts)
    except (NotAWebhook, ValueError, KeyError, TypeError) as exc:
        row.state, row.reason = "failed", f"{type(exc).__name__}: {exc}"


def drain_inbox(limit: int = BATCH_SIZE) -> dict[str, int]:
    """Apply ready inbox rows in batches until none is left; returns counts by resulting state."""
    runtime = get_runtime()
    clear_drain_request(runtime.redis)
    counts: dict[str, int] = {}
    mapping = runtime.mapping
    deferred: list[int] = []
    while True:
        with runtime.sessions() as session, session.begin():
            now = utcnow()
            # SKIP LOCKED lets several workers drain in parallel on PostgreSQL without taking the same rows.
            query = (select(InboundEvent)
                     .where(InboundEvent.state == "pending",
                            or_(InboundEvent.retry_at.is_(None), InboundEvent.retry_at <= now))
                     .order_by(InboundEvent.id).limit(limit).with_for_update(skip_locked=True))
            rows = list(session.scalars(query))
            for row in rows:
                apply_inbox_row(row, session, mapping)
                if row.state == "pending":
                    deferred.append(row.id)
                else:
                    counts[row.state] = counts.get(row.state, 0) + 1
        if len(rows) < limit:
            break
    if deferred and counts.get("applied"):
        # A comment often arrives before its issue: once this drain has applied other rows, the ticket
        # may exist now, so give the rows deferred during this drain one more try at once.
        with runtime.sessions() as session, session.begin():
            rows = list(session.scalars(select(InboundEvent).where(InboundEvent.id.in_(deferred),
                                                                   InboundEvent.state == "pending")
                                        .order_by(InboundEvent.id).with_for_update(skip_locked=True)))
            for row in rows:
                apply_inbox_row(row, session, mapping)
                if row.state != "pending":
                    counts[row.state] = counts.get(row.state, 0) + 1
                    deferred.remove(row.id)
    if deferred:
        counts["deferred"] = len(deferred)
    # Calls the "ask JSM" path made for comment visibility, for the admin's "JSM calls" numbers.
    publish_jsm_calls(_redis_or_none(runtime), getattr(runtime, "_jsm_gateway", None))
    return counts


def _redis_or_none(runtime):  # type: ignore[no-untyped-def]
    try:
        return runtime.redis
    except Exception:  # statistics only: an unreachable Redis must not fail a job
        return None


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
    from sync.jsm import JsmGateway
    from sync.reconcile import reconcile

    runtime = get_runtime()
    # Our own gateway, so its per-kind call counts can be published for the admin's sync health.
    gateway = JsmGateway.from_settings(runtime.settings, redis=_redis_or_none(runtime))
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
