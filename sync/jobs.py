"""Every RQ entry point, each beside the helper that enqueues it.

Jobs take ids (or nothing) after the `Runtime` that the worker hands them first (`sync.worker`), so a
job finds its connections without any process-global state. Every enqueue tolerates Redis being
away: the database holds the work (inbox, outbox) and the sweeper enqueues it once Redis is back.
No other module imports these functions to run them; they call the enqueue helpers.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis
from rq import Queue, get_current_job
from sqlalchemy import func, select

from sync.inbound import attachments, reconcile, retention
from sync.inbound.drain import BATCH_SIZE, apply_inbox_rows, ready_rows
from sync.inbound.health import publish_jsm_calls
from sync.jsm.gateway import gateway_for
from sync.logs import request_id
from sync.models import InboundEvent, InboxState, MailState, NotificationEvent, OutgoingMail
from sync.notify import delivery, digest, fanout
from sync.notify import retention as notify_retention
from sync.notify.compose import compose
from sync.outbound import retention as outbox_retention
from sync.outbound.outbox import JOB_TIMEOUT, LEASE_SECONDS, due_actions
from sync.outbound.push import push
from sync.policies import run as policies_run
from sync.policies import sla
from sync.projection import discovery, reproject
from sync.queues import queue
from sync.redis_conn import get_bytes
from sync.reports import monthly

if TYPE_CHECKING:
    from rq.cron import CronScheduler
    from rq.job import Job

    from sync.runtime import Runtime
    from sync.settings import Settings

log = logging.getLogger(__name__)

_REDIS_DOWN = (redis.RedisError, OSError)


def _trace() -> dict[str, str]:
    """Job meta carrying the current request id, so the worker logs the job under it."""
    rid = request_id.get()
    return {"request_id": rid} if rid else {}


def _redis_or_none(runtime: Runtime) -> redis.Redis | None:
    try:
        return runtime.redis
    except Exception:  # statistics only: an unreachable Redis must not fail a job
        return None


# ------------------------------------------------------------------ inbox (queue "inbound")
# Set while a drain job is queued but not started; the job clears it before it reads the inbox, so a
# row committed after that read always finds the key free and enqueues a new drain.
DRAIN_PENDING_KEY = "companion:inbound:drain-pending"
# An RQ drain job that has seen LINGER_MIN_ROWS rows keeps polling every LINGER_POLL_SECONDS until the
# inbox stays empty for LINGER_IDLE_SECONDS, for at most LINGER_MAX_SECONDS (see drain_inbox).
LINGER_MIN_ROWS = 20
LINGER_POLL_SECONDS = 0.05
LINGER_IDLE_SECONDS = 1.0
LINGER_MAX_SECONDS = 10.0


def request_inbox_drain(connection: redis.Redis) -> bool:
    """Make sure a drain job will run after this point; False when Redis is unavailable."""
    try:
        if connection.set(DRAIN_PENDING_KEY, "1", nx=True, ex=300):
            queue("inbound", connection).enqueue(drain_inbox, job_timeout=600, result_ttl=60, failure_ttl=86_400,
                                              meta=_trace())
        return True
    except _REDIS_DOWN as exc:
        log.warning("Redis unavailable, inbox drain left to the sweeper: %s", exc)
        return False


def _count(counts: dict[str, int], state: str) -> None:
    counts[state] = counts.get(state, 0) + 1


def drain_inbox(runtime: Runtime, limit: int = BATCH_SIZE) -> dict[str, int]:
    """Apply ready inbox rows in batches until none is left; returns counts by resulting state."""
    runtime.redis.delete(DRAIN_PENDING_KEY)  # from now on a new row must enqueue a new drain
    counts: dict[str, int] = {}
    deferred: list[int] = []
    started = idle_since = time.monotonic()
    linger = get_current_job() is not None
    seen = 0
    while True:
        mapping = runtime.mapping  # cached per runtime for a few seconds; a long drain sees a new one
        with runtime.sessions() as session, session.begin():
            rows = ready_rows(session, limit)
            apply_inbox_rows(session, rows, runtime, mapping)
            for row in rows:
                if row.state == InboxState.PENDING:
                    deferred.append(row.id)
                else:
                    _count(counts, row.state)
                # Under the id of the webhook request that recorded the row, not of this job.
                log.info("inbox %s (%s %s): %s", row.id, row.webhook_event, row.issue_key, row.state,
                         extra={"request_id": row.request_id or request_id.get(), "inbox_event": row.id})
            attachment_changes = attachments.changes_in_rows(
                r.payload for r in rows if r.state == InboxState.APPLIED)
            touched = sorted({r.issue_key for r in rows if r.state == InboxState.APPLIED and r.issue_key})
        if attachment_changes:  # after the commit: a refresh calls JSM, never inside this transaction
            request_attachment_refreshes(runtime.redis, attachment_changes)
        if touched:
            request_sla_refresh(runtime.redis, touched)
        if rows:
            request_notifications(runtime.redis)  # the batch may have recorded facts to tell customers
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
    if deferred and counts.get(InboxState.APPLIED):
        # A comment often arrives before its issue: once this drain has applied other rows, the ticket
        # may exist now, so give the rows deferred during this drain one more try at once.
        with runtime.sessions() as session, session.begin():
            rows = ready_rows(session, limit, deferred)
            apply_inbox_rows(session, rows, runtime, mapping)
            for row in rows:
                if row.state != InboxState.PENDING:
                    _count(counts, row.state)
                    deferred.remove(row.id)
    if deferred:
        counts["deferred"] = len(deferred)
    # Calls the "ask JSM" path made for comment visibility, for the admin's "JSM calls" numbers.
    for gateway in runtime.gateways.values():
        publish_jsm_calls(_redis_or_none(runtime), gateway)
    return counts


# ------------------------------------------------------------------ attachments (queue "maintenance")
def request_attachment_refreshes(connection: redis.Redis, changes: dict[str, list[str] | None]) -> int:
    """One `maintenance` job per ticket whose webhook showed attachment changes; reconcile repairs a lost one."""
    sent = 0
    for key, ids in changes.items():
        try:
            queue("maintenance", connection).enqueue(refresh_attachments, key, ids, job_timeout=120, result_ttl=60,
                                                     failure_ttl=86_400, meta=_trace())
            sent += 1
        except _REDIS_DOWN as exc:
            log.warning("Redis unavailable, attachments of %s left to reconcile: %s", key, exc)
            break
    return sent


def refresh_attachments(runtime: Runtime, issue_key: str, field_ids: list[str] | None = None) -> dict[str, object]:
    """Mirror a ticket's customer-visible attachments after a webhook showed a change."""
    return attachments.refresh(runtime, issue_key, field_ids)


# ------------------------------------------------------------------ SLAs (queue "maintenance")
def request_sla_refresh(connection: redis.Redis, keys: list[str]) -> bool:
    """One `maintenance` job for the tickets a drain batch touched; it asks JSM only for those whose
    status, priority or first response changed (`sync.policies.sla`), so a storm of comments costs nothing."""
    try:
        queue("maintenance", connection).enqueue(refresh_slas, keys, job_timeout=300, result_ttl=60,
                                                 failure_ttl=86_400)
        return True
    except _REDIS_DOWN as exc:
        log.warning("Redis unavailable, SLAs of %d ticket(s) left to reconcile: %s", len(keys), exc)
        return False


def refresh_slas(runtime: Runtime, keys: list[str] | None = None, project: str | None = None) -> dict[str, int]:
    """Mirror the JSM SLAs of the given tickets (or a project's) that may have changed."""
    gateway = gateway_for(runtime)
    try:
        return {"jsm_calls": sla.refresh(runtime, gateway, keys, project)}
    finally:
        publish_jsm_calls(_redis_or_none(runtime), gateway)


# ------------------------------------------------------------------ outbox (queue "outbound")
# Set while a drain job is queued but not started (cleared by the job before it reads the outbox).
PUSH_PENDING_KEY = "companion:outbound:push-pending"
# A drain stops taking new actions after this long (well inside JOB_TIMEOUT) and hands on to a new job.
DRAIN_SECONDS = JOB_TIMEOUT / 2


def request_push(connection: redis.Redis, action_id: int | None = None, force: bool = False) -> bool:
    """Make sure an outbox drain job runs after this point; False (the sweeper's turn) when Redis is away.

    One drain job pushes every due action with one gateway: an RQ job per action would pay a fork and
    the imports of the JSM client each time (about a second), far more than the push itself (~40 ms).
    The flag keeps a burst of submissions to one queued job; the sweeper forces a new one regardless.
    """
    try:
        if connection.set(PUSH_PENDING_KEY, "1", nx=True, ex=300) or force:
            queue("outbound", connection).enqueue(drain_outbox, job_timeout=JOB_TIMEOUT, result_ttl=60,
                                                  failure_ttl=86_400, meta=_trace())
        return True
    except _REDIS_DOWN as exc:
        log.warning("Redis unavailable, outbox action %s left to the sweeper: %s", action_id, exc)
        return False


def drain_outbox(runtime: Runtime) -> dict[str, int]:
    """Push every due outbox action (claims are row-locked, so several drains may run at once)."""
    runtime.redis.delete(PUSH_PENDING_KEY)  # from now on a new submission must enqueue a new drain
    gateway = gateway_for(runtime)
    counts: dict[str, int] = {}
    started, seen = time.monotonic(), set()
    while time.monotonic() - started < DRAIN_SECONDS:
        with runtime.sessions() as session, session.begin():
            ids = [i for i in due_actions(session, LEASE_SECONDS, limit=50) if i not in seen]
        if not ids:
            return counts
        for action_id in ids:
            seen.add(action_id)  # one try per drain: a transient failure waits for its next_attempt_at
            # In a copy of the context: each push logs under its own action's request id (sync.logs).
            _count(counts, contextvars.copy_context().run(push, runtime, action_id, gateway))
        request_notifications(runtime.redis)  # a confirmed action may have changed what customers see
    request_push(runtime.redis, force=True)  # time is up with work left: continue in a fresh job
    return counts


def sweep_outbox(runtime: Runtime, lease_seconds: float = LEASE_SECONDS) -> dict[str, int]:
    """Re-enqueue outbox actions that are due: never enqueued (Redis was away), retry time reached,
    or abandoned mid-send by a worker that died (past the lease)."""
    with runtime.sessions() as session, session.begin():
        ids = due_actions(session, lease_seconds)
    enqueued = bool(ids) and request_push(runtime.redis, force=True)
    return {"outbox_due": len(ids), "outbox_enqueued": len(ids) if enqueued else 0}


# ------------------------------------------------------------------ notifications (queue "notify")
NOTIFY_PENDING_KEY = "companion:notify:drain-pending"


def request_notifications(connection: redis.Redis, force: bool = False) -> bool:
    """Make sure a notification drain runs after this point; False (the sweeper's turn) when Redis is away."""
    try:
        if connection.set(NOTIFY_PENDING_KEY, "1", nx=True, ex=300) or force:
            queue("notify", connection).enqueue(drain_notifications, job_timeout=delivery.JOB_TIMEOUT, result_ttl=60,
                                                failure_ttl=86_400)
        return True
    except _REDIS_DOWN as exc:
        log.warning("Redis unavailable, notifications left to the sweeper: %s", exc)
        return False


def drain_notifications(runtime: Runtime, lease_seconds: float = delivery.LEASE_SECONDS) -> dict[str, int]:
    """Fan new facts out to recipients, fold each user's due ones into one mail, and send every due mail."""
    runtime.redis.delete(NOTIFY_PENDING_KEY)
    counts: dict[str, int] = {}
    coalesce = runtime.settings.notifications.coalesce_seconds
    mapping = runtime.mapping
    started = time.monotonic()
    while time.monotonic() - started < delivery.JOB_TIMEOUT / 2:
        with runtime.sessions() as session, session.begin():
            counts["notified"] = counts.get("notified", 0) + fanout.fan_out(session, coalesce)
            users = fanout.due_users(session)
        for user_id in users:
            with runtime.sessions() as session, session.begin():
                if compose(session, runtime.settings, mapping, user_id) is not None:
                    _count(counts, "composed")
        with runtime.sessions() as session, session.begin():
            mail_ids = delivery.due_mails(session, lease_seconds)
        for mail_id in mail_ids:
            _count(counts, delivery.deliver(runtime, mail_id))
        if not users and not mail_ids:
            return counts
    request_notifications(runtime.redis, force=True)
    return counts


def notifications_due(runtime: Runtime) -> bool:
    """Whether the sweeper should start a notification drain (new facts, waiting windows, mails to send)."""
    with runtime.sessions() as session:
        facts = session.scalar(select(NotificationEvent.id).where(NotificationEvent.fanned_out.is_(False)).limit(1))
        users = fanout.due_users(session)
        mails = session.scalar(select(OutgoingMail.id).where(
            OutgoingMail.state.in_((MailState.PENDING, MailState.SENDING))).limit(1))
    return facts is not None or bool(users) or mails is not None


# ------------------------------------------------------------------ cron (queue "maintenance")
SWEEP_INTERVAL_SECONDS = 30


def register_cron(cron: CronScheduler, settings: Settings) -> None:
    """Register every periodic job with RQ's cron scheduler (which enqueues them on `maintenance`)."""
    cron.register(sweep, queue_name="maintenance", interval=SWEEP_INTERVAL_SECONDS, job_timeout=120)
    cron.register(reconcile_incremental, queue_name="maintenance", cron=settings.sync.reconcile_cron,
                  job_timeout=3600)
    cron.register(discover_vocabulary, queue_name="maintenance", cron="17 * * * *", job_timeout=600)
    cron.register(prune_inbox, queue_name="maintenance", cron="42 3 * * *", job_timeout=1800)
    cron.register(prune_notifications, queue_name="maintenance", cron="47 3 * * *", job_timeout=1800)
    cron.register(prune_outbox, queue_name="maintenance", cron="52 3 * * *", job_timeout=1800)
    cron.register(run_policies, queue_name="maintenance", interval=POLICIES_INTERVAL_SECONDS, job_timeout=600)
    # Hourly: each user's digest hour comes in their own zone; a missed tick is caught up by the next one.
    cron.register(send_digests, queue_name="maintenance", cron="2 * * * *", job_timeout=1800)
    # Hourly for the same reason: the 1st begins at a different hour in each recipient's zone.
    cron.register(send_monthly_reports, queue_name="maintenance", cron="7 * * * *", job_timeout=1800)


def send_digests(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Cron: store the daily digests due now (or at ISO `now`), then ask for the notification drain to send them."""
    at = datetime.fromisoformat(now.replace("Z", "+00:00")) if now else datetime.now(UTC)
    counts = {"digests": 0}
    with runtime.sessions() as session:
        users = digest.due_users(session, runtime.settings, at)
    for user_id in users:
        with runtime.sessions() as session, session.begin():
            if digest.compose_digest(session, runtime.settings, runtime.mapping, user_id, at) is not None:
                counts["digests"] += 1
    if counts["digests"]:
        request_notifications(runtime.redis, force=True)
    return counts


def send_monthly_reports(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Cron: store the monthly reports due now (or at ISO `now`), then ask for the notification drain to send them."""
    at = datetime.fromisoformat(now.replace("Z", "+00:00")) if now else datetime.now(UTC)
    counts = {"reports": 0}
    with runtime.sessions() as session:
        due = monthly.due_recipients(session, runtime.settings, at)
    for user_id, month in due:
        with runtime.sessions() as session, session.begin():
            if monthly.compose_report(session, runtime.settings, runtime.mapping, user_id, month, at) is not None:
                counts["reports"] += 1
    if counts["reports"]:
        request_notifications(runtime.redis, force=True)
    return counts


# Rules count working hours: a few minutes late is invisible to a customer, and each run reads every
# ticket in a status some enabled rule watches.
POLICIES_INTERVAL_SECONDS = 300


def run_policies(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Cron: perform the automatic rules due now (or at ISO `now`), then ask for the outbox push."""
    at = datetime.fromisoformat(now.replace("Z", "+00:00")) if now else datetime.now(UTC)
    result = policies_run.run(runtime, at)
    if result.outbox_actions:
        request_push(runtime.redis)
    return {"due": len(result.firings), "done": len(result.acted), "outbox": result.outbox_actions}


def sweep(runtime: Runtime) -> dict[str, int]:
    """Cron: re-enqueue inbox and outbox work that a Redis outage or a killed worker left behind."""
    with runtime.sessions() as session:
        pending = session.scalar(select(func.count()).select_from(InboundEvent)
                                 .where(InboundEvent.state == InboxState.PENDING)) or 0
    if pending:
        request_inbox_drain(runtime.redis)
    outbox = sweep_outbox(runtime)
    notify = notifications_due(runtime)
    if notify:
        request_notifications(runtime.redis, force=True)
    return {"inbox_pending": pending, **(outbox if outbox["outbox_due"] else {}), **({"notify": 1} if notify else {})}


def reconcile_incremental(runtime: Runtime, project: str | None = None) -> dict[str, int]:
    """Cron: fetch what changed in JSM since the watermark (minus the overlap) and apply it."""
    return _reconcile(runtime, full=False, project=project)


def reconcile_full(runtime: Runtime, project: str | None = None) -> dict[str, int]:
    """Compare every ticket with JSM, applying changes and hiding tickets deleted there."""
    return _reconcile(runtime, full=True, project=project)


def _reconcile(runtime: Runtime, *, full: bool, project: str | None) -> dict[str, int]:
    gateway = gateway_for(runtime)
    try:
        result = reconcile.reconcile(runtime, full=full, project=project, gateway=gateway).as_dict()
        # After the pages are applied: SLAs of the tickets whose status, priority or first response changed.
        result["sla_calls"] = sla.refresh(runtime, gateway, project=project.strip().upper() if project else None)
        return result
    finally:
        publish_jsm_calls(_redis_or_none(runtime), gateway)


def request_first_sync(connection: redis.Redis) -> None:
    """Enqueue a full reconcile and a vocabulary discovery now (a new install need not wait for cron)."""
    maintenance = queue("maintenance", connection)
    maintenance.enqueue(reconcile_full, job_timeout=3600)
    maintenance.enqueue(discover_vocabulary, job_timeout=600)


def discover_vocabulary(runtime: Runtime) -> dict[str, int]:
    """Cron (hourly): ask JSM for every status, priority and request type (the unmapped report)."""
    found = discovery.discover(runtime)
    return {name: len(found[name]) for name in ("statuses", "priorities", "request_types")}


def prune_inbox(runtime: Runtime, keep_days: int = retention.KEEP_DAYS) -> dict[str, int]:
    """Cron (daily): delete applied/ignored inbox rows older than `keep_days`."""
    return {"deleted": retention.prune_inbox(runtime, keep_days)}


def prune_notifications(runtime: Runtime, keep_days: int = notify_retention.KEEP_DAYS) -> dict[str, int]:
    """Cron (daily): delete sent mails, their facts and `.eml` files older than `keep_days` (failed ones stay)."""
    cutoff = notify_retention.cutoff_for(keep_days)
    counts = {"facts": 0, "mails": 0}
    for name, prune in (("facts", notify_retention.prune_facts), ("mails", notify_retention.prune_mails)):
        while True:
            with runtime.sessions() as session, session.begin():
                deleted = prune(session, cutoff)
            counts[name] += deleted
            if deleted < notify_retention.BATCH:
                break
    counts["files"] = notify_retention.prune_eml_files(runtime.settings.data_dir / "mail", cutoff)
    return counts


def prune_outbox(runtime: Runtime, keep_days: int = outbox_retention.KEEP_DAYS) -> dict[str, int]:
    """Cron (daily): delete customer actions JSM confirmed more than `keep_days` ago (failed ones stay)."""
    cutoff = outbox_retention.cutoff_for(keep_days)
    deleted = 0
    while True:
        with runtime.sessions() as session, session.begin():
            batch = outbox_retention.prune_actions(session, cutoff)
        deleted += batch
        if batch < outbox_retention.BATCH:
            return {"deleted": deleted}


# ------------------------------------------------------------------ mapping re-projection ("maintenance")
REPROJECT_PROGRESS_KEY = "companion:mapping:reproject"


def request_reproject(runtime: Runtime, version: int | None) -> str | None:
    """Enqueue the re-projection of every ticket under the mapping just published; returns the job id.

    With Redis away the tickets are re-projected here and now (None): better a slow publish than
    tickets left on the old mapping.
    """
    try:
        maintenance: Queue = queue("maintenance", runtime.redis)
        job: Job = maintenance.enqueue(reproject_all, version, job_timeout=3600)
        return str(job.id)
    except Exception as exc:  # an embedded Redis that cannot start raises its own error, not RedisError
        log.warning("Redis unavailable (%s): re-projecting every ticket in this process", exc)
        reproject_all(runtime, version)
        return None


def reproject_all(runtime: Runtime, version: int | None = None) -> dict[str, object]:
    """Re-project every ticket under the active mapping (after a publish), with progress in Redis."""
    runtime.forget_mapping()
    mapping = runtime.mapping

    def progress(done: int, total: int) -> None:
        runtime.redis.set(REPROJECT_PROGRESS_KEY, json.dumps({"version": version, "done": done, "total": total,
                                                               "state": "running"}), ex=3600)

    with runtime.sessions() as session, session.begin():
        result = reproject.apply(session, mapping, progress)
    summary: dict[str, Any] = {"version": version, "state": "done", **result.as_dict()}
    runtime.redis.set(REPROJECT_PROGRESS_KEY, json.dumps(summary), ex=86_400)
    return summary


def reproject_progress(connection: redis.Redis) -> dict[str, Any] | None:
    """The last re-projection's progress as `reproject_all` reports it, or None."""
    raw = get_bytes(connection, REPROJECT_PROGRESS_KEY)
    progress: dict[str, Any] | None = json.loads(raw) if raw else None
    return progress
