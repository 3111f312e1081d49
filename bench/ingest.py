"""(a) Webhook ingest: POST /webhooks/jira against two baselines, all three served exactly as `companion serve`.

`bare_flask` answers 204 and stores nothing (the cost of HTTP + Flask alone); `naive_durable` stores the
body with one INSERT and one commit per request (what "durable before 2xx" costs without group commit).

Each server is driven at two concurrencies by a closed-loop generator (each connection waits for its
answer). A durable receiver's throughput is bounded by Little's law: concurrent deliveries ÷ latency, and
its latency holds a WAL flush that no batching removes; the bare endpoint saturates the CPU with far fewer
connections. So the headline is at `SATURATION` connections, where every server is at its capacity, and
the lower concurrency is reported beside it.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack

import requests

from app.cli.processes import gunicorn_argv
from bench.env import ROOT, BenchEnv, gunicorn

SATURATION = 64
LOW = 16
APPS = {"bare_flask": "bench.bare:application", "naive_durable": "bench.naive:application",
        "companion": "app.wsgi:application"}


def drive(url: str, count: int, threads: int, seconds: float) -> dict:
    """Run the load generator in its own process and return its JSON."""
    out = subprocess.run([sys.executable, "-m", "bench.loadgen", "burst", url, "--count", str(count),
                          "--threads", str(threads), "--seconds", str(seconds)], cwd=ROOT, capture_output=True,
                         text=True, timeout=seconds + 120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def commit_rows(url: str) -> tuple[float, float]:
    """(rows, commits) the companion's inbox group commit has made so far, from its /metrics."""
    text = requests.get(url + "/metrics", timeout=30).text
    found = {name: float(value) for name, value in
             re.findall(r"^companion_inbox_commit_rows_(sum|count)\S* (\S+)$", text, re.MULTILINE)}
    return found.get("sum", 0.0), found.get("count", 0.0)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def _merged(slices: list[dict]) -> dict:
    """One figure from an app's time slices: requests ÷ seconds over all, the median slice's p50 and p99."""
    requests_, seconds = sum(s["requests"] for s in slices), sum(s["seconds"] for s in slices)
    return {"requests": requests_, "seconds": round(seconds, 3), "rps": round(requests_ / seconds, 1),
            "p50_ms": statistics.median(s["p50_ms"] for s in slices),
            "p99_ms": statistics.median(s["p99_ms"] for s in slices), "slices": len(slices),
            "statuses": dict(sum((Counter(s["statuses"]) for s in slices), Counter()))}


def run(env: BenchEnv, quick: bool = False) -> dict:
    """Requests/s and p50/p99 of the real receiver beside both baselines at each concurrency; the ratios.

    The three servers run side by side and are driven in turns of a few seconds, round after round: on a
    shared machine the load of other work drifts, and turns give each server its share of every phase
    of it (one long run each, one after the other, measured the drift more than the servers).
    """
    rounds, turn = (3, 2.0) if quick else (5, 4.0)
    count = int(4000 * turn)  # above what any of them answers in a turn: each turn is bounded by time
    child = env.child_env()
    with ExitStack() as stack:
        urls = {name: stack.enter_context(gunicorn(path, child)) for name, path in APPS.items()}
        for url in urls.values():
            drive(url, 200, 8, 10)  # warm-up: connections, pools, prepared statements
        at = {}
        for threads in (LOW, SATURATION):
            slices: dict[str, list[dict]] = {name: [] for name in APPS}
            before = commit_rows(urls["companion"])
            for _ in range(rounds):
                for name, url in urls.items():
                    slices[name].append(drive(url, count, threads, turn))
            rows, commits = (after - first for after, first in zip(commit_rows(urls["companion"]), before,
                                                                    strict=True))
            merged = {name: _merged(runs) for name, runs in slices.items()}
            merged["companion"]["rows_per_commit"] = round(rows / commits, 1) if commits else None
            at[threads] = {**merged, "ratio_rps": _ratio(merged["companion"]["rps"], merged["bare_flask"]["rps"]),
                           "ratio_to_naive_durable": _ratio(merged["companion"]["rps"],
                                                            merged["naive_durable"]["rps"])}
    return {"server": " ".join(gunicorn_argv("127.0.0.1:PORT", 2, "<app>")[1:]), "database": env.dialect,
            "connections": SATURATION, "rounds": rounds, "turn_seconds": turn, **at[SATURATION],
            f"at_{LOW}_connections": at[LOW]}
