"""Prometheus metrics: the store's numbers read when scraped, plus what every process counted.

Gauges of the store (inbox, outbox, lag, watermarks, the scheduler leader) are read from the database
and Redis at scrape time by `StoreCollector`, so any web process of any machine reports the same values.
Counters of the processes (HTTP answers, JSM answers, jobs, cron ticks: `sync.telemetry`) come from
prometheus-client's multiprocess files when PROMETHEUS_MULTIPROC_DIR is set, else from this process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync import telemetry
from sync.inbound.health import snapshot
from sync.models import LIVE_FELL_BACK, MailState, OutboxAction, OutgoingMail, Ticket, utcnow
from sync.projection.unmapped import unmapped_report
from sync.runtime import Runtime
from sync.scheduler import current_leader


def _epoch(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None


def _gauge(name: str, documentation: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def fell_back_count(db: Session) -> int:
    """Live tickets whose Jira status fell back by category: exact, read from their own partial index
    (`ix_tickets_live_fell_back`, migration 0019), whose WHERE this one repeats so PostgreSQL uses it."""
    return db.scalar(select(func.count()).select_from(Ticket).where(LIVE_FELL_BACK)) or 0


# How long a process reuses its last count of unmapped values (below).
UNMAPPED_MAX_AGE_SECONDS = 300.0


class UnmappedCounts:
    """How many Jira statuses, priorities and request types the active mapping does not cover, per kind.

    Finding them groups every live ticket by status and by priority (`unmapped_report`): a table scan, too
    dear for every scrape at a million tickets. They change when JSM's workflows or the mapping do, so a
    process reuses its last answer for up to `max_age` seconds, and at once asks again when the active
    mapping is another one (a publish). Admin pages still read them afresh.
    """

    def __init__(self, max_age: float = UNMAPPED_MAX_AGE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age, self.clock = max_age, clock
        # (when, the mapping they were found under, counts): the mapping held, not its id, which a later
        # mapping object could reuse.
        self._kept: tuple[float, Any, dict[str, int]] | None = None

    def counts(self, runtime: Runtime) -> dict[str, int]:
        mapping, now = runtime.mapping, self.clock()
        if self._kept is not None:
            found_at, found_under, counts = self._kept
            if found_under is mapping and now - found_at < self.max_age:
                return counts
        counts = {kind: len(values) for kind, values in unmapped_report(runtime).items()}
        self._kept = (now, mapping, counts)
        return counts


class StoreCollector(Collector):
    """The numbers behind the gauges (grouped counts, the same snapshot as the admin API)."""

    def __init__(self, runtime: Runtime, unmapped: UnmappedCounts | None = None) -> None:
        self.runtime = runtime
        self.unmapped = unmapped or UnmappedCounts(max_age=0)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runtime = self.runtime
        health = snapshot(runtime, failed_limit=0)
        inbox = _gauge("companion_inbox_events", "Webhook inbox rows by state", ("state",))
        for state, count in health["inbox"]["by_state"].items():
            inbox.add_metric([state], count)
        yield inbox
        deferred = _gauge("companion_inbox_deferred_events", "Pending inbox rows waiting for a retry (deferred)")
        deferred.add_metric([], health["inbox"]["deferred"])
        yield deferred
        oldest = _gauge("companion_inbox_oldest_pending_age_seconds", "Age of the oldest pending inbox row (0: none)")
        oldest.add_metric([], health["inbox"]["oldest_pending_age_seconds"] or 0)
        yield oldest
        yield from self._projects(health)
        calls = _gauge("companion_jsm_calls", "JSM HTTP calls made by all processes, per endpoint kind", ("kind",))
        for kind, count in (health["jsm_calls"] or {}).items():
            calls.add_metric([kind], count)
        yield calls
        yield from self._store(runtime)
        yield from self._mail(runtime)
        yield from self._leader(runtime)

    def _projects(self, health: dict[str, object]) -> Iterator[GaugeMetricFamily]:
        lag = _gauge("companion_sync_lag_seconds", "Now minus the newest change the store holds, per project",
                     ("project",))
        last_event = _gauge("companion_sync_last_event_received_timestamp_seconds",
                            "When the newest applied webhook of a project was received (epoch s)", ("project",))
        tickets = _gauge("companion_tickets", "Mirrored tickets (not deleted) per project", ("project",))
        watermark = _gauge("companion_reconcile_watermark_timestamp_seconds",
                           "Reconcile watermark per project: newest JSM `updated` applied by reconcile (epoch s)",
                           ("project",))
        last_run = _gauge("companion_reconcile_last_run_timestamp_seconds",
                          "When reconcile last finished a run for a project (epoch s)", ("project",))
        projects = health["projects"]
        assert isinstance(projects, dict)
        for project, info in projects.items():
            tickets.add_metric([project], info["tickets"])
            if info["lag_seconds"] is not None:
                lag.add_metric([project], info["lag_seconds"])
            if (received := _epoch(info["last_event_received_at"])) is not None:
                last_event.add_metric([project], received)
            if info["reconcile"]:
                if (mark := _epoch(info["reconcile"].get("watermark"))) is not None:
                    watermark.add_metric([project], mark)
                if (ran := _epoch(info["reconcile"].get("last_run_at"))) is not None:
                    last_run.add_metric([project], ran)
        yield from (lag, last_event, tickets, watermark, last_run)

    def _store(self, runtime: Runtime) -> Iterator[GaugeMetricFamily]:
        outbox = _gauge("companion_outbox_actions", "Customer actions by state", ("state",))
        fallback = _gauge("companion_tickets_status_fallback", "Tickets whose Jira status fell back by category")
        with runtime.sessions() as db:
            for state, count in db.execute(select(OutboxAction.state, func.count()).group_by(OutboxAction.state)):
                outbox.add_metric([state], count)
            fallback.add_metric([], fell_back_count(db))
        yield outbox
        yield fallback
        unmapped = _gauge("companion_unmapped_jira_values",
                          "Jira statuses, priorities and request types the active mapping does not cover "
                          f"(counted at most {UNMAPPED_MAX_AGE_SECONDS:.0f} s ago, or since the mapping changed)",
                          ("kind",))
        singular = {"statuses": "status", "priorities": "priority", "request_types": "request_type"}
        for kind, count in self.unmapped.counts(runtime).items():
            unmapped.add_metric([singular[kind]], count)
        yield unmapped

    def _mail(self, runtime: Runtime) -> Iterator[GaugeMetricFamily]:
        mails = _gauge("companion_notification_mails", "Notification e-mails by state", ("state",))
        oldest = _gauge("companion_notification_oldest_pending_age_seconds",
                        "Age of the oldest e-mail not yet sent (0: none)")
        failures = _gauge("companion_notification_smtp_failures",
                          "E-mails the server refused for good, or whose delivery is uncertain")
        with runtime.sessions() as db:
            for state, count in db.execute(select(OutgoingMail.state, func.count()).group_by(OutgoingMail.state)):
                mails.add_metric([state], count)
            first = db.scalar(select(func.min(OutgoingMail.created_at)).where(
                OutgoingMail.state.in_((MailState.PENDING, MailState.SENDING))))
            oldest.add_metric([], (utcnow() - first).total_seconds() if first else 0)
            failures.add_metric([], db.scalar(select(func.count()).select_from(OutgoingMail).where(
                OutgoingMail.state.in_((MailState.FAILED, MailState.UNCERTAIN)))) or 0)
        yield from (mails, oldest, failures)

    def _leader(self, runtime: Runtime) -> Iterator[GaugeMetricFamily]:
        present = _gauge("companion_scheduler_leader", "1 while a scheduler holds the leader lease, else 0")
        holder = _gauge("companion_scheduler_leader_info", "The scheduler holding the lease (value 1)",
                        ("name", "host"))
        try:
            leader = current_leader(runtime.redis)
        except Exception:  # Redis away: no leader can act either
            leader = None
        present.add_metric([], 1 if leader else 0)
        if leader:
            holder.add_metric([str(leader.get("name")), str(leader.get("host"))], 1)
        yield present
        yield holder


def exposition(runtime: Runtime, unmapped: UnmappedCounts | None = None) -> bytes:
    """The Prometheus text of /metrics: every process's counters, then the store's gauges.

    `unmapped` keeps the unmapped values' counts from one scrape to the next (the web app holds one);
    without it they are counted afresh.
    """
    if telemetry.enabled():
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
        counted = generate_latest(processes)
    else:
        counted = generate_latest(REGISTRY)
    store = CollectorRegistry(auto_describe=False)
    store.register(StoreCollector(runtime, unmapped))
    return counted + generate_latest(store)
