"""The inbox drain job (queue "inbound") and the request that makes sure one runs."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import redis

from sync.inbound import attachments
from sync.inbound.claim import InboxRow
from sync.inbound.drain import BATCH_SIZE, ClaimedBatch, apply_claimed, claim_batch
from sync.inbound.health import publish_jsm_calls
from sync.inbound.prefetch import NextBatch
from sync.jobs.common import REDIS_DOWN, count, redis_or_none, rq_job, trace
from sync.jobs.followups import request_attachment_refreshes, request_sla_refresh
from sync.jobs.inbox_pacing import WAKE_CHANNEL, Pacer
from sync.jobs.notify import request_notifications
from sync.logs import request_id
from sync.models import InboxState
from sync.queues import hand_back, queue

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)

# Set while a drain job is queued but not started; the job clears it before it reads the inbox, so a
# row committed after that read always finds the key free and enqueues a new drain.
DRAIN_PENDING_KEY = "companion:inbound:drain-pending"


def request_inbox_drain(connection: redis.Redis, force: bool = False) -> bool:
    """Make sure a drain job will run after this point, and wake a running one; False when Redis is away.

    `force` enqueues a job even if one is queued (a drain handing on a backlog it did not finish).
    """
    try:
        pipe = connection.pipeline(transaction=False)
        pipe.set(DRAIN_PENDING_KEY, "1", nx=True, ex=300)
        pipe.publish(WAKE_CHANNEL, b"")
        newly_pending, _ = pipe.execute()
        if newly_pending or force:
            queue("inbound", connection).enqueue(drain_inbox, job_timeout=600, result_ttl=60, failure_ttl=86_400,
                                                 meta=trace())
        return True
    except REDIS_DOWN as exc:
        log.warning("Redis unavailable, inbox drain left to the sweeper: %s", exc)
        return False


@rq_job
def drain_inbox(runtime: Runtime, limit: int = BATCH_SIZE) -> dict[str, int]:
    """Apply ready inbox rows in batches until none is left; returns counts by resulting state.

    Run by a worker (which sets `sync.queues.hand_back`), a drain that met steady traffic goes on
    waiting for new rows (`inbox_pacing`); called directly, it returns once the inbox is empty.
    """
    runtime.redis.delete(DRAIN_PENDING_KEY)  # from now on a new row must enqueue a new drain
    check = hand_back.get()
    pacer = Pacer(runtime.redis, check) if check is not None else None
    counts: dict[str, int] = {}
    deferred: list[int] = []
    full = False
    batches = NextBatch(runtime, limit)
    try:
        while True:
            claimed = batches.take()
            if len(claimed.rows) == limit:
                batches.ahead()  # a backlog: claim and parse the next batch while this one is written
            rows = _apply_batch(runtime, claimed)
            for row in rows:
                if row.state == InboxState.PENDING:
                    deferred.append(row.id)
                else:
                    count(counts, row.state)
            full = len(rows) == limit
            if not (pacer.another(len(rows), limit) if pacer is not None else full):
                break
    finally:
        try:
            batches.close()  # a batch claimed ahead that this drain will not apply: back to pending
        finally:
            if pacer is not None:
                pacer.close()
    if full:
        request_inbox_drain(runtime.redis, force=True)  # handing back with rows left: a fresh job goes on
    if deferred and counts.get(InboxState.APPLIED):
        # A comment often arrives before its issue: once this drain has applied other rows, the ticket
        # may exist now, so give the rows deferred during this drain one more try at once.
        for row in _apply_batch(runtime, claim_batch(runtime, limit, deferred)):
            if row.state != InboxState.PENDING:
                count(counts, row.state)
                deferred.remove(row.id)
    if deferred:
        counts["deferred"] = len(deferred)
    # Calls the "ask JSM" path made for comment visibility, for the admin's "JSM calls" numbers.
    for gateway in runtime.gateways.values():
        publish_jsm_calls(redis_or_none(runtime), gateway)
    return counts


def _apply_batch(runtime: Runtime, claimed: ClaimedBatch) -> list[InboxRow]:
    """Apply and commit claimed rows, then ask for what follows from them (attachment refreshes, SLA
    refreshes, notifications)."""
    mapping = runtime.mapping  # cached per runtime for a few seconds; a long drain sees a new one
    rows = apply_claimed(claimed, runtime, mapping)
    if not rows:
        return rows
    for row in rows:
        # Under the id of the webhook request that recorded the row, not of this job.
        log.info("inbox %s (%s %s): %s", row.id, row.webhook_event, row.issue_key, row.state,
                 extra={"request_id": row.request_id or request_id.get(), "inbox_event": row.id})
    applied = [r for r in rows if r.state == InboxState.APPLIED]
    _log_batch(rows, claimed.claimed_at)
    attachment_changes = attachments.changes_in_bodies(r.body() for r in applied)
    if attachment_changes:  # after the commit: a refresh calls JSM, never inside this transaction
        request_attachment_refreshes(runtime.redis, attachment_changes)
    touched = sorted({r.issue_key for r in applied if r.issue_key})
    if touched:
        request_sla_refresh(runtime.redis, touched)
    request_notifications(runtime.redis)  # the batch may have recorded facts to tell customers
    return rows


def _log_batch(rows: list[InboxRow], claimed: float) -> None:
    """One line per committed batch: when it was claimed and committed (wall clock), and its rows' ids."""
    committed = time.time()
    log.info("inbox batch of %d row(s) committed %.0f ms after it was claimed", len(rows),
             (committed - claimed) * 1000,
             extra={"inbox_batch": {"claimed": round(claimed, 4), "committed": round(committed, 4),
                                    "ids": [row.id for row in rows]}})
