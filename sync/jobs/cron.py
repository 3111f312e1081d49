"""The periodic jobs (queue "maintenance"): the sweeper, automatic rules and retention, and the one
place that registers every periodic job with RQ's cron scheduler."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from sync.inbound import retention
from sync.jobs.common import moment, rq_job
from sync.jobs.inbox import request_inbox_drain
from sync.jobs.notify import notifications_due, request_notifications, send_digests, send_monthly_reports
from sync.jobs.outbox import request_push, sweep_outbox
from sync.jobs.reconcile import discover_vocabulary, reconcile_incremental
from sync.models import INBOX_PENDING, InboundEvent, utcnow
from sync.notify import retention as notify_retention
from sync.outbound import retention as outbox_retention
from sync.policies import run as policies_run

if TYPE_CHECKING:
    from rq.cron import CronScheduler

    from sync.runtime import Runtime
    from sync.settings import Settings

SWEEP_INTERVAL_SECONDS = 30
# Two sweeps: a drain asked for in a healthy install has started well before a row waits this long.
STUCK_PENDING_SECONDS = 2 * SWEEP_INTERVAL_SECONDS
# Rules count working hours: a few minutes late is invisible to a customer, and each run reads every
# ticket in a status some enabled rule watches.
POLICIES_INTERVAL_SECONDS = 300


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


@rq_job
def sweep(runtime: Runtime) -> dict[str, int]:
    """Cron: re-enqueue inbox and outbox work that a Redis outage or a killed worker left behind."""
    with runtime.sessions() as session:
        pending, oldest = session.execute(select(func.count(), func.min(InboundEvent.received_at))
                                          .where(INBOX_PENDING)).one()
    if pending:
        # A drain job lost with its worker (killed after taking the job, before the job cleared the
        # pending flag) leaves the flag set until it expires, and a plain request then enqueues nothing:
        # rows that have waited longer than a healthy pick-up get a drain job regardless.
        stuck = oldest is not None and utcnow() - oldest > timedelta(seconds=STUCK_PENDING_SECONDS)
        request_inbox_drain(runtime.redis, force=stuck)
    outbox = sweep_outbox(runtime)
    notify = notifications_due(runtime)
    if notify:
        request_notifications(runtime.redis, force=True)
    return {"inbox_pending": pending, **(outbox if outbox["outbox_due"] else {}), **({"notify": 1} if notify else {})}


@rq_job
def run_policies(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Cron: perform the automatic rules due now (or at ISO `now`), then ask for the outbox push."""
    result = policies_run.run(runtime, moment(now))
    if result.outbox_actions:
        request_push(runtime.redis)
    return {"due": len(result.firings), "done": len(result.acted), "outbox": result.outbox_actions}


@rq_job
def prune_inbox(runtime: Runtime, keep_days: int = retention.KEEP_DAYS) -> dict[str, int]:
    """Cron (daily): delete applied/ignored inbox rows older than `keep_days`."""
    return {"deleted": retention.prune_inbox(runtime, keep_days)}


@rq_job
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


@rq_job
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
