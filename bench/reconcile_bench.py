"""(g) A big site's full reconcile: `companion reconcile --full` of `bench:N` in the stand-in, at the configured rate.

The worker is the real CLI in its own process (its peak RSS is its VmHWM, read while it runs);
the stand-in serves from this process. Beside each figure its bound: JSM calls against the minimum
(one field-ids call plus one search page of 100 per 100 tickets of each project, the largest page JSM
returns with fields), wall time against calls ÷ `jira.rate.per_second`, and RSS against 200 MB.
With `cloud_limits` the stand-in enforces Jira Cloud's per-site and per-issue limits as well.

Where the time goes, per page: the worker's own split (applying to the store, and waiting for the
next page beyond what overlapped with applying the one before), and the CPU each process spent (the
worker, the stand-in in this process, the database's backends serving the worker): on 2 cores, their
sum ÷ 2 is the least time a page can take, whatever the rate. Beside them, how long the worker was
ready to run but waiting for a core (other load on the machine), and the load average. A second full
run over the filled store (nothing to write: the periodic full reconcile of a mirrored site) is
reported beside the first.

    .venv/bin/python -m bench --only reconcile --scale 100000  # 100,000 tickets
    .venv/bin/python -m bench --only reconcile [--quick]       # 10,000 (1,000) tickets
    .venv/bin/python -m bench --only reconcile --scale 100000 --rate 10  # another jira.rate
"""

from __future__ import annotations

import itertools
import json
import math
import os
import resource
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


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a live process, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _runqueue_wait_s(pid: int) -> float | None:
    """Seconds the process's threads spent runnable but waiting for a CPU (schedstat's run_delay), or None."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        return sum(int((task / "schedstat").read_text().split()[1]) for task in tasks) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def _backends(database: str) -> list[int]:
    """Pids of the local PostgreSQL backends connected to `database` (their command line names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"postgres:") and f" {database} ".encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def _worker(env: BenchEnv, config: str) -> dict:
    """`python -m app reconcile --full` in a child: its summary line, wall time, peak RSS and the CPU split.

    The peak is the child's own VmHWM, read while it runs: wait4's ru_maxrss would report this
    process's size instead (Linux carries it across the fork and exec, and this process holds the
    stand-in's whole site). CPU: the child's from wait4, the stand-in's as this process's own, the
    database's as the most each backend of this benchmark's database was seen to have used.
    """
    child = env.child_env(COMPANION_CONFIG=config)
    database = env.database_url.rsplit("/", 1)[-1] if env.dialect == "postgresql" else None
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "app", "reconcile", "--full"], cwd=ROOT, env=child,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0.0
    queued = 0.0
    load_before = os.getloadavg()[0]
    backend_cpu: dict[int, float] = {}
    running = threading.Event()
    running.set()

    def watch() -> None:
        nonlocal peak, queued
        backends: list[int] = []
        for tick in itertools.count():
            if not running.is_set():
                return
            peak = max(peak, _high_water_mb(proc.pid) or 0.0)
            queued = max(queued, _runqueue_wait_s(proc.pid) or 0.0)  # threads that ended take theirs along
            if database and tick % 10 == 0:  # the pool's connections come and go rarely; /proc is big
                backends = _backends(database)
            for pid in backends:
                backend_cpu[pid] = max(backend_cpu.get(pid, 0.0), _cpu_s(pid) or 0.0)
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    running.clear()
    watcher.join()
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    if proc.returncode != 0:
        raise RuntimeError(f"reconcile exited {proc.returncode}: {out[-1000:]}")
    summary = dict(part.split(": ") for part in out.strip().splitlines()[-1].split(", "))
    cpu = {"worker": usage.ru_utime + usage.ru_stime,
           "stand_in": (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime),
           "database": sum(backend_cpu.values()) if database else None}
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(peak, 1), "cpu_s": cpu, "runqueue_wait_s": queued,
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "result": {k: int(v) for k, v in summary.items()}}


def _per_page(measured: dict, rate: float) -> dict:
    """Milliseconds per search page: the worker's own split, and each process's CPU (2 cores share them)."""
    pages = max(1, measured["result"]["pages"])
    cpu = {name: round(seconds * 1000 / pages, 1) for name, seconds in measured["cpu_s"].items()
           if seconds is not None}
    busiest = sum(cpu.values())
    return {"pages": pages, "budget_ms_at_rate": round(1000 / rate, 1),
            "wall_ms": round(measured["wall_s"] * 1000 / pages, 1),
            "apply_ms": round(measured["result"]["apply_ms"] / pages, 1),
            "fetch_wait_ms": round(measured["result"]["fetch_wait_ms"] / pages, 1),
            "cpu_ms": cpu, "cpu_ms_all": round(busiest, 1), "two_cores_floor_ms": round(busiest / 2, 1),
            "cpus": os.cpu_count(),
            # The worker ready to run but waiting for a core: what other load on the machine costs it.
            "worker_runqueue_wait_ms": round(measured["runqueue_wait_s"] * 1000 / pages, 1),
            "load_average_before_after": measured["load_average"],
            # Outside the pages: the deletion check, and the rest (start-up, field list, counts).
            "deletion_check_s": round(measured["result"].get("deletion_check_ms", 0) / 1000, 1),
            "outside_pages_s": round(measured["wall_s"] - (measured["result"]["apply_ms"]
                                                         + measured["result"]["fetch_wait_ms"]) / 1000, 1)}


def _figures(measured: dict, rate: float, minimum: int) -> dict:
    calls = measured["result"]["jsm_calls"]
    floor_s = calls / rate
    return {"fetched": measured["result"]["fetched"], "jsm_calls": calls, "minimum_calls": minimum,
            "ratio_to_minimum": round(calls / minimum, 3), "wall_s": measured["wall_s"],
            "calls_over_rate_s": round(floor_s, 1),
            "wall_ratio_to_calls_over_rate": round(measured["wall_s"] / floor_s, 3),
            "achieved_calls_per_s": round(calls / measured["wall_s"], 2), "peak_rss_mb": measured["peak_rss_mb"],
            "per_page": _per_page(measured, rate), "result": measured["result"]}


def run(env: BenchEnv, quick: bool = False, tickets: int | None = None, rate: float = 20.0, burst: int = 40,
        cloud_limits: bool = False) -> dict:
    """A first full reconcile of `bench:N` into a fresh store (N = 1,000 quick, 10,000 else, or `tickets`), then
    a second over the filled store."""
    tickets = tickets or (1_000 if quick else 10_000)
    # Cloud's documented per-site GET budget (100/s) and per-issue write windows, the configured rate below it.
    faults = {"cloud_limits": {"rps": 100, "per_issue_writes": [20, 2, 100, 30]}} if cloud_limits else {}
    with running_sandbox(seed=f"bench:{tickets}") as jsm:
        if faults:
            requests.post(f"{jsm.url}/_sandbox/faults", json=faults, timeout=10).raise_for_status()
        per_project = Counter(k.split("-")[0] for k in requests.get(f"{jsm.url}/_sandbox/state", timeout=60)
                              .json()["requests"])
        config = _config(env, jsm.url, jsm.email, jsm.token, rate, burst)
        first = _worker(env, config)
        time.sleep(burst / rate)  # the throttle's burst refills, so the second run starts as the first did
        again = _worker(env, config)
        limits = jsm.sandbox.faults.cloud_limits
        rejected = dict(limits.refused) if limits is not None else {}
    minimum = 1 + sum(math.ceil(n / PAGE) for n in per_project.values())
    return {"tickets": tickets, "rate_per_s": rate, "burst": burst, **_figures(first, rate, minimum),
            "rss_bound_mb": RSS_BOUND_MB, "faults": faults, "rejected_by_stand_in": rejected,
            "again_unchanged": _figures(again, rate, minimum)}
