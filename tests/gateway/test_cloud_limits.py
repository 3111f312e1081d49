"""Jira Cloud's rate limits: the stand-in's `cloud_limits` answers as Cloud does, and the throttle stays inside them."""

from __future__ import annotations

import pytest
import requests

from sandbox.cloud_limits import BURST_REASON, PER_ISSUE_REASON, CloudLimits, parse_config
from sandbox.testing import RunningSandbox
from sync.jsm.errors import JsmTransientError
from sync.jsm.throttle import Throttle
from tests.gateway.conftest import make_gateway, set_faults


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_per_issue_writes_are_refused_past_20_in_2_seconds_with_reason_and_retry_after() -> None:
    clock = Clock()
    limits = CloudLimits(**parse_config({"rps": 1000, "per_issue_writes": [20, 2, 100, 30]}), clock=clock)
    verdicts = []
    for _ in range(21):
        verdicts.append(limits.check("POST", "SUP-1"))
        clock.now += 0.05
    assert [v.refused for v in verdicts] == [False] * 20 + [True]
    assert verdicts[-1].reason == PER_ISSUE_REASON and 1 <= verdicts[-1].retry_after <= 2  # whole seconds
    assert not limits.check("POST", "SUP-2").refused  # another issue has its own windows
    assert not limits.check("GET", "SUP-1").refused  # reads are not writes
    clock.now += 2.0
    assert not limits.check("POST", "SUP-1").refused  # the 2 s window moved on


def test_the_30_second_window_and_the_site_burst() -> None:
    clock = Clock()
    limits = CloudLimits(**parse_config({"rps": 10, "per_issue_writes": [20, 2, 100, 30]}), clock=clock)
    for _ in range(100):
        assert not limits.check("PUT", "SUP-1").refused
        clock.now += 0.21  # under 20 per 2 s, and the site's 10/s refills in time
    over = limits.check("PUT", "SUP-1")
    assert over.refused and over.reason == PER_ISSUE_REASON and over.retry_after >= 1
    site = CloudLimits(**parse_config({"rps": 10}), clock=clock)
    answers = [site.check("GET", None) for _ in range(11)]
    assert [a.near_limit for a in answers[:10]] == [False] * 8 + [True] * 2  # under 20% left: NearLimit
    assert answers[10].refused and answers[10].reason == BURST_REASON
    assert site.refused == {BURST_REASON: 1, PER_ISSUE_REASON: 0}


@pytest.mark.parametrize("bad", [{"rps": 0}, {"rps": 5, "per_issue_writes": [20]}, "fast"])
def test_bad_cloud_limits_config_is_a_400_with_a_reason(site: RunningSandbox, bad: object) -> None:
    response = requests.post(f"{site.url}/_sandbox/faults", json={"cloud_limits": bad}, timeout=5)
    assert response.status_code == 400
    assert "cloud_limits" in response.json()["error"]


def _first_request_key(site: RunningSandbox) -> str:
    with site.state.lock:
        return next(iter(site.state.requests.values())).key


def test_a_burst_of_writes_on_one_request_is_never_refused_per_issue(site: RunningSandbox) -> None:
    # Time five times faster on both sides (stand-in windows 20 per 0.4 s and 100 per 6 s, throttle bucket
    # 10 + 12.5/s): Cloud's 20 per 2 s and 100 per 30 s against our 10 + 2.5/s, in under two seconds.
    set_faults(site, {"cloud_limits": {"rps": 1000, "per_issue_writes": [20, 0.4, 100, 6]}})
    key = _first_request_key(site)
    gateway = make_gateway(site, throttle=Throttle("burst", rate=1000, burst=1000, per_issue_rate=12.5,
                                                   per_issue_burst=10))
    for i in range(30):
        gateway.add_comment(key, f"burst {i}", public=False)
    assert site.sandbox.faults.cloud_limits.refused[PER_ISSUE_REASON] == 0
    assert gateway.t.retries == 0


def test_without_the_per_issue_bucket_the_stand_in_refuses_and_only_that_issue_waits(site: RunningSandbox) -> None:
    # The control for the test above: a bucket far too generous meets 429 jira-per-issue-on-write. The
    # write is surfaced (the outbox retries it; a POST is never repeated here) and only writes to that
    # issue are paused for Retry-After: the site's other calls go on at once.
    set_faults(site, {"cloud_limits": {"rps": 1000, "per_issue_writes": [20, 2, 100, 30]}})
    key = _first_request_key(site)
    throttle = Throttle("loose", rate=1000, burst=1000, per_issue_rate=1000, per_issue_burst=1000)
    gateway = make_gateway(site, throttle=throttle)
    for i in range(20):
        gateway.add_comment(key, f"loose {i}", public=False)
    with pytest.raises(JsmTransientError) as refused:
        gateway.add_comment(key, "one too many", public=False)
    assert refused.value.status == 429 and refused.value.retry_after is not None
    assert site.sandbox.faults.cloud_limits.refused[PER_ISSUE_REASON] == 1
    assert throttle.acquire() == 0  # the site is not paused
    assert throttle._try(throttle._issue_key(key), 1000, 1000) > 0  # that issue's writes are


def test_near_limit_slows_the_throttle_down(site: RunningSandbox) -> None:
    set_faults(site, {"cloud_limits": {"rps": 1, "burst": 10}})
    throttle = Throttle("near", rate=1000, burst=1000)
    gateway = make_gateway(site, throttle=throttle)
    for _ in range(9):
        gateway.myself()
    assert throttle.near_limit_signals >= 1
    assert site.sandbox.faults.cloud_limits.near_limit_answers >= 1
