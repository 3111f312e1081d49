"""JSM 429/5xx during a reconcile: the run stops or backs off, and the next one resumes from the watermark.

(The reconcile engineer's tests in tests/reconcile/ cover paging, JQL bounds and deletions; these cover
only JSM failing mid-run, on SQLite and PostgreSQL.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from sandbox.testing import running_sandbox
from sync.inbound.reconcile import reconcile, watermark
from sync.jsm.errors import JsmTransientError
from sync.jsm.gateway import JsmGateway
from sync.models import Ticket
from sync.runtime import Runtime
from tests.conftest import make_settings

N = 160
PAGE = 40


def gateway(settings, retries: int = 1) -> JsmGateway:  # type: ignore[no-untyped-def]
    # Short waits: a Retry-After longer than max_retry_wait stops the run (the job is rescheduled).
    return JsmGateway.from_settings(settings, max_attempts=retries, max_retry_wait=0.5, backoff_base=0.01,
                                    rate=1000.0, burst=1000)


def tickets(runtime) -> int:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db:
        return db.scalar(select(func.count()).select_from(Ticket)) or 0


@pytest.fixture
def site(tmp_path: Path, any_database_url: str, redis_url: str, redis_client):  # type: ignore[no-untyped-def]
    with running_sandbox(seed=f"bench:{N}") as jsm:
        settings = make_settings(tmp_path, any_database_url, redis_url, jira={
            "base_url": jsm.url, "email": jsm.email, "api_token": jsm.token, "projects": ["SUP", "HELP"],
            "webhook_secret": "unused-but-long-enough"})
        runtime = Runtime(settings)
        yield jsm, runtime
        runtime.close()


def test_long_retry_after_stops_the_run_and_the_next_resumes_from_the_watermark(site) -> None:  # type: ignore[no-untyped-def]
    jsm, runtime = site
    requests.post(f"{jsm.url}/_sandbox/faults", json={"rate_limit": {"every": 4, "retry_after": 30}})
    with pytest.raises(JsmTransientError):
        reconcile(runtime, full=False, gateway=gateway(runtime.settings), page_size=PAGE)
    partial = tickets(runtime)
    marks = {p: watermark(runtime, p) for p in ("SUP", "HELP")}
    assert 0 < partial < N and any(marks.values()), "committed pages stay applied and move the watermark"

    requests.post(f"{jsm.url}/_sandbox/faults", json={})
    result = reconcile(runtime, full=False, gateway=gateway(runtime.settings), page_size=PAGE)
    assert tickets(runtime) == N
    # Resumed from the watermark (minus the overlap): not everything was fetched again.
    assert result.fetched < N + partial
    for project, mark in marks.items():
        after = watermark(runtime, project)
        assert after is not None and (mark is None or after >= mark)


def test_5xx_and_short_429_are_retried_and_reruns_converge(site) -> None:  # type: ignore[no-untyped-def]
    jsm, runtime = site
    requests.post(f"{jsm.url}/_sandbox/faults", json={"seed": 7, "error_rate": 0.3,
                                                      "rate_limit": {"every": 5, "retry_after": 0}})
    runs, fetched = 0, 0
    while True:
        runs += 1
        try:
            fetched += reconcile(runtime, full=False, gateway=gateway(runtime.settings, retries=3),
                                 page_size=PAGE).fetched
            break
        except JsmTransientError:
            assert runs < 10, "reconcile never got through a 30% error rate with retries"
    assert tickets(runtime) == N
    # Each rerun starts from the last committed page: the total fetched stays near one pass.
    assert fetched <= N * 2
    state = requests.get(f"{jsm.url}/_sandbox/state").json()["requests"]
    with runtime.sessions() as db:
        stored = {t.key: t.jira_status_name for t in db.scalars(select(Ticket))}
    assert stored == {k: v["status"] for k, v in state.items()}
