"""(g) A big site's full reconcile: `companion reconcile --full` of `bench:N` in the stand-in, at the configured rate.

The worker is the real CLI in its own process (its peak RSS is its VmHWM, read while it runs);
the stand-in serves from this process. Beside each figure its bound: JSM calls against the minimum
(one field-ids call plus one search page of 100 per 100 tickets of each project, the largest page JSM
returns with fields), wall time against calls ÷ `jira.rate.per_second`, and RSS against 200 MB.
With `cloud_limits` the stand-in enforces Jira Cloud's per-site and per-issue limits as well.

    .venv/bin/python -m bench --only reconcile --scale 100000  # 100,000 tickets
    .venv/bin/python -m bench --only reconcile [--quick]       # 10,000 (1,000) tickets
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests

from bench.env import ROOT, SECRET, BenchEnv
from sandbox.testing import running_sandbox

RSS_BOUND_MB = 200
PAGE = 100


def _config(env: BenchEnv, jsm_url: str, email: str, token: str, rate: float, burst: int) -> str:
    """A config file for the worker (JSON is YAML): the stand-in, both projects, the rate under test."""
    path = env.data_dir / "reconcile-config.yaml"
    path.write_text(json.dumps({"jira": {"base_url": jsm_url, "email": email, "api_token": token,
                                         "webhook_secret": SECRET, "projects": ["SUP", "HELP"],
                                         "rate": {"per_second": rate, "burst": burst}}}))
    return str(path)


def _high_water_mb(pid: int) -> float | None:
    """The process's peak RSS so far (VmHWM), or None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return kib / 1024 if kib is not None else None


def _worker(env: BenchEnv, config: str) -> dict:
    """`python -m app reconcile --full` in a child: its summary line, wall time and peak RSS.

    The peak is the child's own VmHWM, read while it runs: wait4's ru_maxrss would report this
    process's size instead (Linux carries it across the fork and exec, and this process holds the
    stand-in's whole site).
    """
    child = env.child_env(COMPANION_CONFIG=config)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "app", "reconcile", "--full"], cwd=ROOT, env=child,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0.0

    def watch() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, _high_water_mb(proc.pid) or 0.0)
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out = proc.stdout.read() if proc.stdout else ""
    proc.wait()
    watcher.join()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"reconcile exited {proc.returncode}: {out[-1000:]}")
    summary = dict(part.split(": ") for part in out.strip().splitlines()[-1].split(", "))
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(peak, 1),
            "result": {k: int(v) for k, v in summary.items()}}


def run(env: BenchEnv, quick: bool = False, tickets: int | None = None, rate: float = 20.0, burst: int = 40,
        cloud_limits: bool = False) -> dict:
    """One full reconcile of a fresh store against `bench:N` (N = 1,000 quick, 10,000 else, or `tickets`)."""
    tickets = tickets or (1_000 if quick else 10_000)
    # Cloud's documented per-site GET budget (100/s) and per-issue write windows, the configured rate below it.
    faults = {"cloud_limits": {"rps": 100, "per_issue_writes": [20, 2, 100, 30]}} if cloud_limits else {}
    with running_sandbox(seed=f"bench:{tickets}") as jsm:
        if faults:
            requests.post(f"{jsm.url}/_sandbox/faults", json=faults, timeout=10).raise_for_status()
        per_project = Counter(k.split("-")[0] for k in requests.get(f"{jsm.url}/_sandbox/state", timeout=60)
                              .json()["requests"])
        measured = _worker(env, _config(env, jsm.url, jsm.email, jsm.token, rate, burst))
        limits = jsm.sandbox.faults.cloud_limits
        rejected = dict(limits.refused) if limits is not None else {}
    calls = measured["result"]["jsm_calls"]
    minimum = 1 + sum(math.ceil(n / PAGE) for n in per_project.values())
    floor_s = calls / rate
    return {"tickets": tickets, "fetched": measured["result"]["fetched"], "jsm_calls": calls,
            "minimum_calls": minimum, "ratio_to_minimum": round(calls / minimum, 3), "rate_per_s": rate,
            "wall_s": measured["wall_s"], "calls_over_rate_s": round(floor_s, 1),
            "wall_ratio_to_calls_over_rate": round(measured["wall_s"] / floor_s, 3),
            "achieved_calls_per_s": round(calls / measured["wall_s"], 2),
            "peak_rss_mb": measured["peak_rss_mb"], "rss_bound_mb": RSS_BOUND_MB, "faults": faults,
            "rejected_by_stand_in": rejected, "result": measured["result"]}
