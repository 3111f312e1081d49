"""Every RQ entry point, each beside the helper that enqueues it, by flow:

  inbox.py (+ inbox_pacing.py)  the inbox drain, queue "inbound"
  followups.py                  attachment and SLA refreshes after a drain, "maintenance"
  outbox.py                     the outbox drain and sweep, "outbound"
  notify.py                     the notification drain, digests and monthly reports, "notify"/"maintenance"
  reconcile.py                  reconciliation and vocabulary discovery, "maintenance"
  reproject.py                  re-projection after a mapping publish, "maintenance"
  summary.py                    the administrator's summary of every organisation, counted and kept, "maintenance"
  cron.py                       the sweeper, automatic rules, retention, and the cron registrations

Jobs take ids (or nothing) after the `Runtime` that the worker hands them first (`sync.worker`), so a
job finds its connections without any process-global state. Every enqueue tolerates Redis being
away: the database holds the work (inbox, outbox) and the sweeper enqueues it once Redis is back.
RQ stores each job as `sync.jobs.<name>` whichever module defines it (`common.rq_job`), so this
package exports every one of them under that name. No other module imports these functions to run
them; they call the enqueue helpers.
"""

from sync.inbound.drain import BATCH_SIZE
from sync.jobs.common import ENTRY_POINTS
from sync.jobs.cron import (
    POLICIES_INTERVAL_SECONDS,
    SWEEP_INTERVAL_SECONDS,
    prune_inbox,
    prune_notifications,
    prune_outbox,
    register_cron,
    run_policies,
    sweep,
)
from sync.jobs.followups import (
    refresh_attachments,
    refresh_slas,
    refresh_touched_slas,
    request_attachment_refreshes,
    request_sla_refresh,
)
from sync.jobs.inbox import DRAIN_PENDING_KEY, drain_inbox, request_inbox_drain
from sync.jobs.notify import (
    NOTIFY_PENDING_KEY,
    drain_notifications,
    notifications_due,
    request_notifications,
    send_digests,
    send_monthly_reports,
)
from sync.jobs.outbox import PUSH_PENDING_KEY, drain_outbox, request_push, sweep_outbox
from sync.jobs.reconcile import discover_vocabulary, reconcile_full, reconcile_incremental, request_first_sync
from sync.jobs.reproject import REPROJECT_PROGRESS_KEY, reproject_all, reproject_progress, request_reproject
from sync.jobs.summary import (
    FRESH_SECONDS,
    SUMMARY_KEY_PREFIX,
    count_summary,
    keep_figures,
    kept_figures,
    request_count,
    summary_key,
    workers_counting,
)
from sync.jobs.summary import QUEUE as SUMMARY_QUEUE
from sync.queues import queue

__all__ = [
    "BATCH_SIZE",
    "DRAIN_PENDING_KEY",
    "ENTRY_POINTS",
    "FRESH_SECONDS",
    "NOTIFY_PENDING_KEY",
    "POLICIES_INTERVAL_SECONDS",
    "PUSH_PENDING_KEY",
    "REPROJECT_PROGRESS_KEY",
    "SUMMARY_KEY_PREFIX",
    "SUMMARY_QUEUE",
    "SWEEP_INTERVAL_SECONDS",
    "count_summary",
    "discover_vocabulary",
    "drain_inbox",
    "drain_notifications",
    "drain_outbox",
    "keep_figures",
    "kept_figures",
    "notifications_due",
    "prune_inbox",
    "prune_notifications",
    "prune_outbox",
    "queue",
    "reconcile_full",
    "reconcile_incremental",
    "refresh_attachments",
    "refresh_slas",
    "refresh_touched_slas",
    "register_cron",
    "reproject_all",
    "reproject_progress",
    "request_attachment_refreshes",
    "request_count",
    "request_first_sync",
    "request_inbox_drain",
    "request_notifications",
    "request_push",
    "request_reproject",
    "request_sla_refresh",
    "run_policies",
    "send_digests",
    "send_monthly_reports",
    "summary_key",
    "sweep",
    "sweep_outbox",
    "workers_counting",
]
