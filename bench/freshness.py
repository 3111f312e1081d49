"""(c) Freshness: webhook POST → change visible in GET /api/v1/tickets/<key>, at a steady rate, real RQ workers;
then a 2,000-event burst (one Jira bulk edit) and the seconds until every ticket shows it.

Each sampled event's latency is split into stages by wall clock: POST answered (the inbox commit), the
drain batch that holds its row claimed and committed (the workers' JSON log, "inbox_batch"), and seen
through the API (the load generator's poll).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import requests

from bench.env import ROOT, BenchEnv, gunicorn, percentile

BULK_EVENTS = 2000  # one Jira bulk edit


# The API allows each token 600 requests a minute (app/ratelimits.py): the samples' polls are spread over
# this many tokens of one admin, so a poll never meets a 429 instead of the ticket.
POLL_TOKENS = 8


def _admin_token(env: BenchEnv) -> str:
    """One API token of a new admin (bench/notify_bench.py polls with it too)."""
    return _admin_tokens(env, 1)[0]


def _admin_tokens(env: BenchEnv, count: int) -> list[str]:
    from app.services.accounts import create_user, issue_token
    from sync.runtime import Runtime

    runtime = Runtime(env.settings())
    with runtime.sessions() as db, db.begin():
        user, _ = create_user(db, email="bench@example.test", role="admin", org_slug=None, group=None,
                              password="bench password 1", jira_account_id=None)
        tokens = [issue_token(db, user, f"bench {n}") for n in range(count)]
    runtime.close()
    return tokens


def run(env: BenchEnv, quick: bool = False, rate: float = 200.0, workers: int = 2) -> dict:
    """p50/p95 of POST → visible, with `workers` `companion worker --queues inbound` processes."""
    seconds = 6 if quick else 15
    *poll_tokens, token = _admin_tokens(env, POLL_TOKENS + 1)
    child = env.child_env()
    logs = [env.data_dir / f"worker-{n}.log" for n in range(workers)]
    with ExitStack() as stack:
        url = stack.enter_context(gunicorn("app.wsgi:application", child))
        procs = [subprocess.Popen([sys.executable, "-m", "app", "worker", "--queues", "inbound"], cwd=ROOT,
                                  env={**child, "COMPANION_LOG_FORMAT": "json"}, stdout=subprocess.DEVNULL,
                                  stderr=stack.enter_context(path.open("wb"))) for path in logs]
        try:
            # Steady state: load starts once every worker listens (their start-up is not freshness).
            _wait_for_workers(env, workers)
            cpu_before = _cpu_seconds(procs)
            out = subprocess.run([sys.executable, "-m", "bench.loadgen", "steady", url, "--rate", str(rate),
                                  "--seconds", str(seconds), "--tickets", "200", "--token", ",".join(poll_tokens),
                                  "--sample-every", "10"], cwd=ROOT, capture_output=True, text=True,
                                 timeout=seconds + 240, check=True)
            cpu = {name: round(after - cpu_before[name], 2) for name, after in _cpu_seconds(procs).items()}
            bulk = _bulk_edit(env, url, token, 500 if quick else BULK_EVENTS)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    stages = _stages(env, result.pop("traces"), logs)
    return {"database": env.dialect, "rq_workers": workers, **result, "stages_ms": stages,
            "cpu_s_steady": cpu, **_apply_lag(env), "bulk_edit": bulk}


def _cpu_seconds(workers: list[subprocess.Popen]) -> dict[str, float]:
    """CPU seconds used so far by the RQ workers (with their reaped work-horses) and by gunicorn: less
    disturbed by other load on the machine than wall-clock times."""
    import psutil

    def used(process: psutil.Process) -> float:
        """The process's CPU, its reaped children's, and its live children's (a work-horse still running)."""
        try:
            t = process.cpu_times()
            return t.user + t.system + t.children_user + t.children_system + sum(
                used(child) for child in process.children())
        except psutil.NoSuchProcess:
            return 0.0

    web = [p for p in psutil.Process().children() if "gunicorn" in " ".join(p.cmdline())]
    return {"workers": sum(used(psutil.Process(w.pid)) for w in workers), "web": sum(used(p) for p in web)}


def _bulk_edit(env: BenchEnv, url: str, token: str, count: int, timeout: float = 120) -> dict:
    """One Jira bulk edit: `count` tickets changed at once; seconds until the API shows every one of them.

    The events go out as fast as 8 connections take them; visibility is counted in the tickets table
    (what the API reads) and confirmed through GET /api/v1/tickets/<key> for a spread of keys.
    """
    from sqlalchemy import func, select

    from sync.models import Ticket
    from sync.runtime import Runtime

    marker = f"bulk-{time.time_ns()}"
    started = time.perf_counter()
    sent = subprocess.run([sys.executable, "-m", "bench.loadgen", "burst", url, "--count", str(count), "--threads",
                           "8", "--seconds", str(timeout), "--marker", marker], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout + 60, check=True)
    sending = json.loads(sent.stdout.strip().splitlines()[-1])
    runtime = Runtime(env.settings())
    visible, deadline = 0, time.perf_counter() + timeout
    try:
        while time.perf_counter() < deadline:
            with runtime.sessions() as db:
                visible = db.scalar(select(func.count()).select_from(Ticket).where(Ticket.summary == marker)) or 0
            if visible >= count:
                break
            time.sleep(0.05)
    finally:
        runtime.close()
    took = time.perf_counter() - started
    auth = {"Authorization": f"Bearer {token}"}
    checked = [f"SUP-{n}" for n in range(1, count + 1, max(1, count // 20))]
    confirmed = sum(requests.get(f"{url}/api/v1/tickets/{key}", headers=auth, timeout=10).json().get("summary")
                    == marker for key in checked)
    return {"events": count, "sent_s": sending["seconds"], "statuses": sending["statuses"],
            "visible": visible, "all_visible_s": round(took, 2) if visible >= count else None,
            "api_confirmed": f"{confirmed}/{len(checked)}"}


def _wait_for_workers(env: BenchEnv, count: int, timeout: float = 60) -> None:
    import redis
    from rq import Worker

    connection = redis.Redis.from_url(env.redis_url)
    deadline = time.monotonic() + timeout
    while Worker.count(connection=connection) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} RQ workers did not start within {timeout} s")
        time.sleep(0.2)


# Consecutive moments of a sampled event; each stage runs from one to the next. "asked": the API request
# that saw the change was sent (it may have been sent just before the commit it saw).
STAGES = (("post", "sent", "answered"), ("to_claim", "answered", "claimed"), ("apply", "claimed", "committed"),
          ("to_asked", "committed", "asked"), ("get", "asked", "seen"))


def _stages(env: BenchEnv, traces: dict[str, dict[str, float]], logs: list[Path]) -> dict:
    """p50/p95/max in ms of each stage over the sampled events whose batch the workers logged."""
    from sqlalchemy import select

    from sync.models import InboundEvent
    from sync.runtime import Runtime

    runtime = Runtime(env.settings())
    with runtime.sessions() as db:
        ids = dict(db.execute(select(InboundEvent.delivery_id, InboundEvent.id)
                              .where(InboundEvent.delivery_id.in_(list(traces)))).all())
    runtime.close()
    batches: dict[int, dict] = {}
    every: list[dict] = []
    for path in logs:
        for line in path.read_text(errors="replace").splitlines():
            if '"inbox_batch"' in line:
                batch = json.loads(line)["inbox_batch"]
                every.append(batch)
                batches.update((row_id, batch) for row_id in batch["ids"])
    spans: dict[str, list[float]] = {name: [] for name, *_ in STAGES}
    joined = 0
    for delivery, trace in traces.items():
        batch = batches.get(ids.get(delivery, -1))
        if batch is None or "seen" not in trace:
            continue
        joined += 1
        moments = {**trace, "claimed": batch["claimed"], "committed": batch["committed"]}
        for name, begin, end in STAGES:
            spans[name].append(moments[end] - moments[begin])
    out: dict = {"samples": joined, "batches": _batches(every)}
    for name, values in spans.items():
        out[name] = {"p50": _ms(percentile(values, 0.5)), "p95": _ms(percentile(values, 0.95)),
                     "max": _ms(max(values, default=None))}
    return out


def _batches(batches: list[dict]) -> dict:
    """Rows per batch, claim→commit time, and the longest time no worker claimed (a hole in draining)."""
    sizes = [len(b["ids"]) for b in batches]
    took = [b["committed"] - b["claimed"] for b in batches]
    ordered = sorted(batches, key=lambda b: b["claimed"])
    busy_until, holes = 0.0, [0.0]
    for b in ordered:
        if busy_until:
            holes.append(b["claimed"] - busy_until)
        busy_until = max(busy_until, b["committed"])
    return {"count": len(batches), "rows_p50": percentile(sizes, 0.5), "rows_max": max(sizes, default=None),
            "took_p50_ms": _ms(percentile(took, 0.5)), "took_p95_ms": _ms(percentile(took, 0.95)),
            "longest_gap_ms": _ms(max(holes))}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


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
