"""(a) Webhook ingest: POST /webhooks/jira against two baselines on the same gunicorn setup.

`bare_flask` answers 204 and stores nothing (the cost of HTTP + Flask alone); `naive_durable` stores the
body with one INSERT and one commit per request (what "durable before 2xx" costs without group commit).
"""

from __future__ import annotations

import json
import subprocess
import sys

from app.cli.processes import gunicorn_argv
from bench.env import ROOT, BenchEnv, gunicorn


def drive(url: str, count: int, threads: int, seconds: float) -> dict:
    """Run the load generator in its own process and return its JSON."""
    out = subprocess.run([sys.executable, "-m", "bench.loadgen", "burst", url, "--count", str(count),
                          "--threads", str(threads), "--seconds", str(seconds)], cwd=ROOT, capture_output=True,
                         text=True, timeout=seconds + 60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(env: BenchEnv, quick: bool = False) -> dict:
    """Requests/s and p50/p99 of the real receiver next to the bare endpoint; the ratio of the two."""
    count, threads, seconds = (800, 8, 10) if quick else (4000, 16, 30)
    child = env.child_env()
    with gunicorn("bench.bare:application", child) as url:
        drive(url, 100, threads, 10)  # warm-up
        bare = drive(url, count, threads, seconds)
    with gunicorn("bench.naive:application", child) as url:
        drive(url, 100, threads, 10)
        naive = drive(url, count, threads, seconds)
    with gunicorn("app.wsgi:application", child) as url:
        drive(url, 100, threads, 10)
        real = drive(url, count, threads, seconds)
    return {"server": " ".join(gunicorn_argv("127.0.0.1:PORT", 2, "<app>")[1:]),
            "database": env.dialect, "companion": real, "bare_flask": bare, "naive_durable": naive,
            "ratio_rps": round(real["rps"] / bare["rps"], 3) if bare["rps"] else None,
            "ratio_to_naive_durable": round(real["rps"] / naive["rps"], 3) if naive["rps"] else None}
