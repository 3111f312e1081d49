"""A reconcile fetches page N+1 while it applies page N: a failure or a cancellation mid-run loses
nothing that was fetched before it, and asks JSM for nothing after it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from sync.inbound.reconcile import reconcile, watermark
from sync.jsm.errors import JsmTransientError
from sync.models import Ticket
from tests.reconcile.conftest import assert_mirrors, control, gateway_for


def _sup_requests(site, count: int) -> None:
    # Without comments, so Data Center makes no listing calls and the search is every call after the
    # field list: the stand-in's "every Nth request" fault then lands on a known page.
    for n in range(count):
        control(site, "POST", "/requests", {"summary": f"Request {n}", "request_type": "11"})


def _stored(runtime) -> list[Ticket]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.jira_updated_at)))


def _no_fetcher_left() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith("reconcile-") and t.is_alive()]


def test_a_search_failing_mid_run_keeps_every_page_fetched_before_it(runtime, site):
    _sup_requests(site, 6)
    # Call 1 lists the fields, calls 2 and 3 fetch pages 1 and 2; page 3 gets a 429 whose
    # Retry-After is longer than this gateway waits, so the run stops there.
    control(site, "POST", "/faults", {"rate_limit": {"every": 4, "retry_after": 1}})
    gw = gateway_for(runtime, max_retry_wait=0.5)
    with pytest.raises(JsmTransientError):
        reconcile(runtime, full=True, project="SUP", gateway=gw, page_size=2)
    assert gw.calls["search"] == 3 and _no_fetcher_left()
    stored = _stored(runtime)
    assert len(stored) == 4  # pages 1 and 2, applied before the error was raised
    assert watermark(runtime, "SUP") == int(stored[-1].jira_updated_at.timestamp() * 1000)

    control(site, "POST", "/faults", {})
    again = reconcile(runtime, full=True, project="SUP", gateway=gateway_for(runtime), page_size=2)
    assert (again.fetched, again.changed, again.deleted) == (6, 2, 0)
    assert_mirrors(runtime, site)


def test_a_cancelled_run_fetches_no_page_after_the_one_under_way(runtime, site):
    _sup_requests(site, 8)

    def cancel(done: int, total: int | None) -> None:
        raise KeyboardInterrupt  # Ctrl-C, or an RQ job stopped, after page 1 was committed

    gw = gateway_for(runtime)
    with pytest.raises(KeyboardInterrupt):
        reconcile(runtime, full=True, project="SUP", gateway=gw, page_size=2, progress=cancel)
    # Page 2 may have been on its way while page 1 was applied; page 3 was never asked for.
    assert gw.calls["search"] <= 2 and _no_fetcher_left()
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 2
