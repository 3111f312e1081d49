"""Reconciliation against the stand-in over HTTP, on SQLite and PostgreSQL, Cloud and Data Center."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import select

from sync.inbound.reconcile import reconcile, watermark
from sync.inbound.reconcile_lock import ProjectLock
from sync.jsm.errors import JsmTransientError
from sync.models import Ticket
from tests.reconcile.conftest import assert_mirrors, control, gateway_for, populate


def test_full_then_incremental_repairs_missed_webhooks(runtime, site):
    keys = populate(site, 12)
    first = reconcile(runtime, full=True, gateway=gateway_for(runtime), page_size=5)
    assert (first.fetched, first.changed, first.deleted) == (12, 12, 0)
    assert first.comments == 24 and first.projects == 2
    assert_mirrors(runtime, site)

    # Changes whose webhooks never reached us.
    control(site, "POST", f"/requests/{keys[0]}/transition", {"status": "Resolved"})
    control(site, "POST", f"/requests/{keys[1]}/priority", {"priority": "Highest"})
    control(site, "POST", f"/requests/{keys[2]}/comment", {"body": "late public reply", "public": True})
    control(site, "POST", f"/requests/{keys[3]}/comment", {"body": "late internal note", "public": False})
    new_key = control(site, "POST", "/requests", {"summary": "raised while we were away"})["key"]

    gw = gateway_for(runtime)
    again = reconcile(runtime, full=False, gateway=gw, page_size=5)
    assert again.changed == 5 and again.comments == 2 and again.deleted == 0
    assert_mirrors(runtime, site)
    with runtime.sessions() as session:
        assert session.scalars(select(Ticket).where(Ticket.key == new_key)).one()
    # Economy: one search call per page (+ one field list, one /myself for the user's time zone), and on
    # Data Center one servicedeskapi comment list per issue with a comment we had not seen.
    dc_lookups = 0 if site.sandbox.cloud else 2
    assert again.jsm_calls == again.pages + 2 + dc_lookups
    assert watermark(runtime, "SUP") is not None

    nothing = reconcile(runtime, full=True, gateway=gateway_for(runtime))
    assert (nothing.changed, nothing.comments, nothing.unchanged) == (0, 0, 13)


def test_full_detects_deletions(runtime, site):
    keys = populate(site, 4)
    reconcile(runtime, full=True, gateway=gateway_for(runtime))
    control(site, "DELETE", f"/requests/{keys[1]}")
    incremental = reconcile(runtime, full=False, gateway=gateway_for(runtime))
    assert incremental.deleted == 0  # only a full run compares the whole set
    full = reconcile(runtime, full=True, gateway=gateway_for(runtime))
    assert full.deleted == 1
    with runtime.sessions() as session:
        assert session.scalars(select(Ticket.deleted).where(Ticket.key == keys[1])).one() is True
    assert_mirrors(runtime, site)


def test_rate_limit_mid_run_resumes_from_watermark(runtime, site):
    populate(site, 12)
    # Cloud: fields, SUP's 2 pages of 3, then HELP's first search (call 4) gets a 429. Data Center
    # also lists the comments of each new issue (3 per page), so HELP's search is call 10.
    every = 4 if site.sandbox.cloud else 10
    control(site, "POST", "/faults", {"rate_limit": {"every": every, "retry_after": 1}})
    gw = gateway_for(runtime, max_retry_wait=0.5)  # a Retry-After this long is left to the next run
    with pytest.raises(JsmTransientError):
        reconcile(runtime, full=False, project=None, gateway=gw, page_size=3)
    with runtime.sessions() as session:
        stored = session.scalars(select(Ticket).order_by(Ticket.jira_updated_at)).all()
    assert {t.project_key for t in stored} == {"SUP"} and len(stored) == 6
    mark = watermark(runtime, "SUP")
    assert mark == int(max(t.jira_updated_at for t in stored).timestamp() * 1000)
    assert watermark(runtime, "HELP") is None

    control(site, "POST", "/faults", {})
    started = time.monotonic()
    done = reconcile(runtime, full=False, gateway=gateway_for(runtime), page_size=3)
    assert time.monotonic() - started >= 0.7  # the 429's pause, shared through Redis, was honoured
    assert done.changed == 6  # HELP's six; SUP's are refetched (same minute) but unchanged
    assert_mirrors(runtime, site)


def test_server_errors_mid_run_are_retried(runtime, site):
    populate(site, 8)
    control(site, "POST", "/faults", {"seed": 7, "error_rate": 0.3})
    result = reconcile(runtime, full=True, gateway=gateway_for(runtime, max_attempts=6), page_size=2)
    control(site, "POST", "/faults", {})
    assert result.fetched == 8 and result.jsm_calls > result.pages + 1
    assert_mirrors(runtime, site)


def test_a_project_is_never_reconciled_twice_at_once(runtime, site):
    populate(site, 2)
    held = ProjectLock(runtime.redis, "SUP")
    assert held.acquire()
    try:
        result = reconcile(runtime, full=True, gateway=gateway_for(runtime))
        assert result.busy == 1 and result.projects == 1  # HELP ran, SUP was skipped
    finally:
        held.release()
    assert reconcile(runtime, full=True, project="sup", gateway=gateway_for(runtime)).busy == 0


def test_a_full_run_reports_a_total_for_the_progress_bar_on_either_deployment(runtime, site):
    # Cloud's search pages carry no total: a full run stands the store's count in for it, so the bar
    # has an ETA from the second run on; Data Center's total comes from the search itself.
    populate(site, 5)
    seen: list[tuple[int, int | None]] = []
    reconcile(runtime, full=True, gateway=gateway_for(runtime), page_size=2,
              progress=lambda done, total: seen.append((done, total)))
    if site.sandbox.deployment == "datacenter":
        assert seen[-1] == (5, 5)
    seen.clear()
    reconcile(runtime, full=True, gateway=gateway_for(runtime), page_size=2,
              progress=lambda done, total: seen.append((done, total)))
    # Per project, added up: each call's total covers the projects done so far and this one whole.
    assert all(total is not None and done <= total for done, total in seen) and seen[-1] == (5, 5)
    with runtime.sessions() as session:
        per_project = Counter(session.scalars(select(Ticket.project_key)))
    assert len(per_project) == 2 and seen[0][1] in per_project.values()  # the first project's own count
