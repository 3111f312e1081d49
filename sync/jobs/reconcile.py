"""Jobs that ask JSM for the whole picture (queue "maintenance"): reconciliation and vocabulary discovery."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis

from sync.inbound import reconcile
from sync.inbound.health import publish_jsm_calls
from sync.jobs.common import redis_or_none, rq_job
from sync.jsm.gateway import gateway_for
from sync.policies import sla
from sync.projection import discovery
from sync.queues import queue

if TYPE_CHECKING:
    from sync.runtime import Runtime


@rq_job
def reconcile_incremental(runtime: Runtime, project: str | None = None) -> dict[str, int]:
    """Cron: fetch what changed in JSM since the watermark (minus the overlap) and apply it."""
    return _reconcile(runtime, full=False, project=project)


@rq_job
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
        publish_jsm_calls(redis_or_none(runtime), gateway)


def request_first_sync(connection: redis.Redis) -> None:
    """Enqueue a full reconcile and a vocabulary discovery now (a new install need not wait for cron)."""
    maintenance = queue("maintenance", connection)
    maintenance.enqueue(reconcile_full, job_timeout=3600)
    maintenance.enqueue(discover_vocabulary, job_timeout=600)


@rq_job
def discover_vocabulary(runtime: Runtime) -> dict[str, int]:
    """Cron (hourly): ask JSM for every status, priority and request type (the unmapped report)."""
    found = discovery.discover(runtime)
    return {name: len(found[name]) for name in ("statuses", "priorities", "request_types")}
