"""Notification jobs: the drain that fans facts out and sends mail (queue "notify"), and the cron jobs
that compose daily digests and monthly reports for it to send."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import redis
from sqlalchemy import select

from sync.jobs.common import REDIS_DOWN, count, moment, rq_job
from sync.models import MailState, NotificationEvent, OutgoingMail
from sync.notify import delivery, digest, fanout
from sync.notify.compose import compose
from sync.queues import queue
from sync.reports import monthly

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)

NOTIFY_PENDING_KEY = "companion:notify:drain-pending"


def request_notifications(connection: redis.Redis, force: bool = False) -> bool:
    """Make sure a notification drain runs after this point; False (the sweeper's turn) when Redis is away."""
    try:
        if connection.set(NOTIFY_PENDING_KEY, "1", nx=True, ex=300) or force:
            queue("notify", connection).enqueue(drain_notifications, job_timeout=delivery.JOB_TIMEOUT, result_ttl=60,
                                                failure_ttl=86_400)
        return True
    except REDIS_DOWN as exc:
        log.warning("Redis unavailable, notifications left to the sweeper: %s", exc)
        return False


@rq_job
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
                    count(counts, "composed")
        with runtime.sessions() as session, session.begin():
            mail_ids = delivery.due_mails(session, lease_seconds)
        for mail_id in mail_ids:
            count(counts, delivery.deliver(runtime, mail_id))
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


@rq_job
def send_digests(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Cron: store the daily digests due now (or at ISO `now`), then ask for the notification drain to send them."""
    at = moment(now)
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


@rq_job
def send_monthly_reports(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Cron: store the monthly reports due now (or at ISO `now`), then ask for the notification drain to send them."""
    at = moment(now)
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
