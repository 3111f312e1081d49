"""(h) Under the stand-in's `cloud_limits` (Jira Cloud's per-site bucket and per-issue write windows).

- An outbound burst on one request: N comments pushed back to back through the gateway with the
  configured throttle; counted: writes the stand-in refused with `jira-per-issue-on-write` (Cloud's
  20 per 2 s and 100 per 30 s). Baseline in the same run: the same burst with the per-issue bucket
  opened wide, which is what a throttle without it would send.
- Search throughput at the configured rate: reconcile's search pages streamed from `bench:N` at
  `jira.rate` (20/s, burst 40); achieved calls/s after the burst against the configured rate.
"""

from __future__ import annotations

import time

import requests

from bench.env import BenchEnv
from sandbox import catalog
from sandbox.cloud_limits import BURST_REASON, PER_ISSUE_REASON
from sandbox.testing import RunningSandbox, running_sandbox
from sync.jsm.errors import JsmTransientError
from sync.jsm.gateway import JsmGateway
from sync.jsm.throttle import Throttle
from sync.jsm.transport import Transport

CLOUD = {"cloud_limits": {"rps": 100, "per_issue_writes": [20, 2, 100, 30]}}


def _gateway(jsm: RunningSandbox, throttle: Throttle, attempts: int = 4) -> JsmGateway:
    return JsmGateway(Transport(jsm.url, deployment="cloud", email=jsm.email, token=jsm.token, throttle=throttle,
                                max_attempts=attempts))


def _burst(jsm: RunningSandbox, writes: int, throttle: Throttle) -> dict:
    requests.post(f"{jsm.url}/_sandbox/faults", json=CLOUD, timeout=10).raise_for_status()  # fresh windows
    with jsm.state.lock:  # a request still open to comments (`bench:N` closes some at random)
        key = next(r.key for r in jsm.state.requests.values() if catalog.STATUS_BY_ID[r.status_id].name != "Closed")
    gateway = _gateway(jsm, throttle, attempts=1)  # a refusal counted as the stand-in saw it, never retried
    failed = 0
    started = time.perf_counter()
    for i in range(writes):
        try:
            gateway.add_comment(key, f"burst {i}", public=False)
        except JsmTransientError:
            failed += 1
    took = time.perf_counter() - started
    refused = dict(jsm.sandbox.faults.cloud_limits.refused)
    return {"writes": writes, "seconds": round(took, 1), "refused_per_issue": refused[PER_ISSUE_REASON],
            "refused_burst": refused[BURST_REASON], "failed": failed}


def _search_rate(jsm: RunningSandbox, rate: float, burst: int, pages: int) -> dict:
    requests.post(f"{jsm.url}/_sandbox/faults", json=CLOUD, timeout=10).raise_for_status()
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the throttle waits only once its bucket is empty
        waits.append(time.perf_counter())
        time.sleep(seconds)

    gateway = _gateway(jsm, Throttle("bench-search", rate=rate, burst=burst, sleep=sleep))
    gateway.organisations_field_ids()  # the one field-ids call, before the clock starts
    seen, stamps = 0, []
    for page in gateway.search_pages(gateway.build_jql(["SUP", "HELP"], None), 100):
        seen += len(page.hits)
        stamps.append(time.perf_counter())
        if len(stamps) >= pages:
            break
    # The steady rate: calls from the throttle's first wait on (its burst, and what refilled while the
    # burst went out, spent). Without any wait the pages came slower than the rate: the fetch bound them.
    steady = [t for t in stamps if waits and t >= waits[0]]
    achieved = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else None
    refused = dict(jsm.sandbox.faults.cloud_limits.refused)
    unthrottled = len(stamps) / (stamps[-1] - stamps[0]) if len(stamps) > 1 and not waits else None
    # Never throttled: this machine fetched and parsed pages slower than the rate (the stand-in serves
    # from this process), so the figure is that fetch rate, said as such, not a throttle's.
    rate_seen = achieved or unthrottled
    return {"pages": len(stamps), "issues": seen, "configured_rate": rate, "burst": burst,
            "throttled_calls": len(steady), "fetch_bound_rate": round(unthrottled, 2) if unthrottled else None,
            "achieved_steady_rate": round(achieved, 2) if achieved else None,
            "bound_by": "throttle" if achieved else "fetch",
            "achieved_rate": round(rate_seen, 2) if rate_seen else None,
            "ratio_to_configured": round(rate_seen / rate, 3) if rate_seen else None,
            "refused": refused}


def run(env: BenchEnv, quick: bool = False) -> dict:
    """Both figures; the burst beside its wide-open baseline."""
    writes, pages = (40, 150) if quick else (120, 300)
    with running_sandbox(seed=f"bench:{pages * 100}") as jsm:
        ours = _burst(jsm, writes, Throttle("bench-ours", rate=20, burst=40))
        time.sleep(2)  # let the stand-in's short window forget the first burst
        wide = _burst(jsm, writes, Throttle("bench-wide", rate=20, burst=40, per_issue_rate=1000,
                                            per_issue_burst=1000))
        search = _search_rate(jsm, 20.0, 40, pages)
    return {"outbound_burst_one_request": ours, "baseline_without_per_issue_bucket": wide,
            "search_under_cloud_limits": search}
