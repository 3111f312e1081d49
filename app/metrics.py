"""Prometheus metrics: the store's numbers read when scraped, plus what every process counted.

Gauges of the store (inbox, outbox, lag, watermarks, the scheduler leader) are read from the database
and Redis at scrape time by `StoreCollector`, so any web process of any machine reports the same values.
Counters of the processes (HTTP answers, JSM answers, jobs, cron ticks: `sync.telemetry`) come from
prometheus-client's multiprocess files when PROMETHEUS_MULTIPROC_DIR is set, else from this process.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

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


class StoreCollector(Collector):
    """The numbers behind the gauges (grouped counts, the same snapshot as the admin API)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

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
                          "Jira statuses, priorities and request types the active mapping does not cover", ("kind",))
        singular = {"statuses": "status", "priorities": "priority", "request_types": "request_type"}
        for kind, values in unmapped_report(runtime).items():
            unmapped.add_metric([singular[kind]], len(values))
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


def exposition(runtime: Runtime) -> bytes:
    """The Prometheus text of /metrics: every process's counters, then the store's gauges."""
    if telemetry.enabled():
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
        counted = generate_latest(processes)
    else:
        counted = generate_latest(REGISTRY)
    store = CollectorRegistry(auto_describe=False)
    store.register(StoreCollector(runtime))
    return counted + generate_latest(store)
