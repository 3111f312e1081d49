"""(a) Webhook ingest: POST /webhooks/jira against a bare 204 Flask endpoint, same gunicorn setup."""

from __future__ import annotations

import json
import subprocess
import sys

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
    with gunicorn("app.wsgi:application", child) as url:
        drive(url, 100, threads, 10)
        real = drive(url, count, threads, seconds)
    return {"server": "gunicorn --workers 2 --threads 8 (as `companion serve`), access log off",
            "database": env.dialect, "companion": real, "bare_flask": bare,
            "ratio_rps": round(real["rps"] / bare["rps"], 3) if bare["rps"] else None}
