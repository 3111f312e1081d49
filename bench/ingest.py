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
import subprocess
import sys

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


def run(env: BenchEnv, quick: bool = False) -> dict:
    """Requests/s and p50/p99 of the real receiver beside both baselines at each concurrency; the ratios."""
    seconds = 4 if quick else 15
    count = 4000 * seconds  # above what any of them answers in `seconds`: the run is bounded by time
    child = env.child_env()
    by_app: dict[str, dict[int, dict]] = {}
    for name, app_path in APPS.items():
        with gunicorn(app_path, child) as url:
            drive(url, 200, 8, 10)  # warm-up: connections, pools, prepared statements
            by_app[name] = {}
            for threads in (LOW, SATURATION):
                before = commit_rows(url) if name == "companion" else None
                result = by_app[name][threads] = drive(url, count, threads, seconds)
                if before is not None:
                    rows, commits = (after - first for after, first in zip(commit_rows(url), before, strict=True))
                    result["rows_per_commit"] = round(rows / commits, 1) if commits else None
    at = {threads: {"companion": by_app["companion"][threads], "bare_flask": by_app["bare_flask"][threads],
                    "naive_durable": by_app["naive_durable"][threads],
                    "ratio_rps": _ratio(by_app["companion"][threads]["rps"], by_app["bare_flask"][threads]["rps"]),
                    "ratio_to_naive_durable": _ratio(by_app["companion"][threads]["rps"],
                                                     by_app["naive_durable"][threads]["rps"])}
          for threads in (LOW, SATURATION)}
    return {"server": " ".join(gunicorn_argv("127.0.0.1:PORT", 2, "<app>")[1:]), "database": env.dialect,
            "connections": SATURATION, **at[SATURATION], f"at_{LOW}_connections": at[LOW]}
