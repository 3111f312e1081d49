"""Jobs that follow an applied inbox batch on queue "maintenance": attachment and SLA refreshes.

Both call JSM, so they never run inside the drain's transaction; a request lost to a Redis outage is
repaired by reconciliation.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis

from sync.inbound import attachments
from sync.inbound.health import publish_jsm_calls
from sync.jobs.common import REDIS_DOWN, redis_or_none, rq_job, trace
from sync.jsm.gateway import gateway_for
from sync.policies import sla
from sync.queues import queue
from sync.redis_conn import sync_reply

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)

# Tickets a drain touched whose SLAs may have changed, gathered until one refresh job takes them all:
# a drain commits a batch every few tens of milliseconds under steady traffic, and a job per batch
# would cost a forked work-horse each.
SLA_TOUCHED_KEY = "companion:sla:touched"
SLA_PENDING_KEY = "companion:sla:refresh-pending"
# Keys one refresh job takes from the set at a time.
SLA_KEYS_PER_TAKE = 1000


def request_attachment_refreshes(connection: redis.Redis, changes: dict[str, list[str] | None]) -> int:
    """One `maintenance` job per ticket whose webhook showed attachment changes; reconcile repairs a lost one."""
    sent = 0
    for key, ids in changes.items():
        try:
            queue("maintenance", connection).enqueue(refresh_attachments, key, ids, job_timeout=120, result_ttl=60,
                                                     failure_ttl=86_400, meta=trace())
            sent += 1
        except REDIS_DOWN as exc:
            log.warning("Redis unavailable, attachments of %s left to reconcile: %s", key, exc)
            break
    return sent


@rq_job
def refresh_attachments(runtime: Runtime, issue_key: str, field_ids: list[str] | None = None) -> dict[str, object]:
    """Mirror a ticket's customer-visible attachments after a webhook showed a change."""
    return attachments.refresh(runtime, issue_key, field_ids)


def request_sla_refresh(connection: redis.Redis, keys: list[str]) -> bool:
    """Note the tickets a drain batch touched and make sure a refresh job will take them; it asks JSM only
    for those whose status, priority or first response changed (`sync.policies.sla`), so a storm of
    comments costs nothing."""
    if not keys:
        return True
    try:
        pipe = connection.pipeline(transaction=False)
        pipe.sadd(SLA_TOUCHED_KEY, *keys)
        pipe.set(SLA_PENDING_KEY, "1", nx=True, ex=300)
        _, newly_pending = pipe.execute()
        if newly_pending:
            queue("maintenance", connection).enqueue(refresh_touched_slas, job_timeout=300, result_ttl=60,
                                                     failure_ttl=86_400)
        return True
    except REDIS_DOWN as exc:
        log.warning("Redis unavailable, SLAs of %d ticket(s) left to reconcile: %s", len(keys), exc)
        return False


@rq_job
def refresh_touched_slas(runtime: Runtime) -> dict[str, int]:
    """Refresh the SLAs of every ticket drains noted since the last run (`request_sla_refresh`)."""
    runtime.redis.delete(SLA_PENDING_KEY)  # from now on a newly touched ticket enqueues a new job
    calls = tickets = 0
    while True:
        taken = sync_reply(runtime.redis.spop(SLA_TOUCHED_KEY, SLA_KEYS_PER_TAKE))
        keys = sorted(key.decode() if isinstance(key, bytes) else str(key) for key in taken or [])
        if not keys:
            return {"tickets": tickets, "jsm_calls": calls}
        tickets += len(keys)
        calls += refresh_slas(runtime, keys)["jsm_calls"]


@rq_job
def refresh_slas(runtime: Runtime, keys: list[str] | None = None, project: str | None = None) -> dict[str, int]:
    """Mirror the JSM SLAs of the given tickets (or a project's) that may have changed."""
    gateway = gateway_for(runtime)
    try:
        return {"jsm_calls": sla.refresh(runtime, gateway, keys, project)}
    finally:
        publish_jsm_calls(redis_or_none(runtime), gateway)
