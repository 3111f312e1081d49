"""(c) Freshness: webhook POST → change visible in GET /api/v1/tickets/<key>, at a steady rate, real RQ workers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import ExitStack

from bench.env import ROOT, BenchEnv, gunicorn, percentile


def _admin_token(env: BenchEnv) -> str:
    from app.services.accounts import create_user, issue_token
    from sync.runtime import Runtime

    runtime = Runtime(env.settings())
    with runtime.sessions() as db, db.begin():
        user, _ = create_user(db, email="bench@example.test", role="admin", org_slug=None, group=None,
                              password="bench password 1", jira_account_id=None)
        token = issue_token(db, user, "bench")
    runtime.close()
    return token


def run(env: BenchEnv, quick: bool = False, rate: float = 200.0, workers: int = 2) -> dict:
    """p50/p95 of POST → visible, with `workers` `companion worker --queues inbound` processes."""
    seconds = 6 if quick else 15
    token = _admin_token(env)
    child = env.child_env()
    with ExitStack() as stack:
        url = stack.enter_context(gunicorn("app.wsgi:application", child))
        procs = [subprocess.Popen([sys.executable, "-m", "app", "worker", "--queues", "inbound"], cwd=ROOT, env=child,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
        try:
            # Steady state: load starts once every worker listens (their start-up is not freshness).
            _wait_for_workers(env, workers)
            out = subprocess.run([sys.executable, "-m", "bench.loadgen", "steady", url, "--rate", str(rate),
                                  "--seconds", str(seconds), "--tickets", "200", "--token", token,
                                  "--sample-every", "20"], cwd=ROOT, capture_output=True, text=True,
                                 timeout=seconds + 240, check=True)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"database": env.dialect, "rq_workers": workers, **result, **_apply_lag(env)}


def _wait_for_workers(env: BenchEnv, count: int, timeout: float = 60) -> None:
    import redis
    from rq import Worker

    connection = redis.Redis.from_url(env.redis_url)
    deadline = time.monotonic() + timeout
    while Worker.count(connection=connection) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} RQ workers did not start within {timeout} s")
        time.sleep(0.2)


def _apply_lag(env: BenchEnv) -> dict:
    """Inbox received → applied (the worker's part of freshness; the rest is HTTP and polling)."""
    from sqlalchemy import select

    from sync.models import InboundEvent
    from sync.runtime import Runtime

    runtime = Runtime(env.settings())
    with runtime.sessions() as db:
        rows = db.execute(select(InboundEvent.received_at, InboundEvent.applied_at, InboundEvent.state)).all()
    runtime.close()
    lags = [(a - r).total_seconds() for r, a, _ in rows if a is not None]
    states: dict[str, int] = {}
    for *_, state in rows:
        states[state] = states.get(state, 0) + 1
    return {"inbox_states": states, "apply_lag_p50_ms": round((percentile(lags, 0.5) or 0) * 1000, 1),
            "apply_lag_p95_ms": round((percentile(lags, 0.95) or 0) * 1000, 1)}
