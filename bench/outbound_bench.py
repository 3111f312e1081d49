"""Outbox benchmark against the stand-in JSM: actions/s pushed by one real RQ worker, and the latency
from the API POST to JSM having the comment (p50/p95), with a long-running worker. Prints JSON.

The actions are spread over `--requests` requests: the gateway keeps each issue's writes under Jira
Cloud's per-issue limit (about 2.5/s after a burst of 10, `sync.jsm.throttle`), so comments piled on a
single request measure that limit, not the worker (200 of them took over 70 s: the script's time limit).
The site's rate (`jira.rate`) still applies to all of them and is printed beside the figure.

    .venv/bin/python -m bench.outbound_bench [--actions 200] [--latency-samples 40] [--requests 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

REPO_ROOT = Path(__file__).resolve().parent.parent


def _setup(tmp: Path, request_count: int) -> tuple[Any, Any, Any, list[str], dict[str, str]]:
    from app import create_app
    from app.services.accounts import create_org, create_user, issue_token
    from sandbox.testing import running_sandbox
    from sync.db import upgrade
    from sync.inbound.upsert import apply_issue
    from sync.jsm.gateway import JsmGateway
    from sync.redis_conn import ensure_embedded_redis
    from sync.settings import Settings

    db_url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(db_url)
    redis_url, _ = ensure_embedded_redis(tmp / "redis")
    ctx = running_sandbox(seed="empty")
    sb = ctx.__enter__()
    settings = Settings(data_dir=tmp, database_url=db_url, redis_url=redis_url, secret_key="bench",
                        jira={"base_url": sb.url, "email": sb.email, "api_token": sb.token,
                              "allow_unsigned_webhooks": True})
    app = create_app(settings, {"TESTING": True})
    runtime = app.extensions["companion"]
    account = sb.state.by_email["customer1@example.com"]
    with runtime.sessions() as db, db.begin():
        create_org(db, "acme", "Acme Corp", account.org_ids[0])
        user, _ = create_user(db, email=account.email, role="customer", org_slug="acme", name=account.display_name,
                              jira_account_id=account.account_id, password="bench password 1")
        token = issue_token(db, user, "bench")
    keys = [sb.state.create_request("1", "11", f"Bench request {n}", "", account, account).key
            for n in range(request_count)]
    gw = JsmGateway.from_settings(settings)
    with runtime.sessions() as db, db.begin():
        for key in keys:
            apply_issue(db, gw.get_issue(key), runtime.mapping)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    env.update(COMPANION_DATABASE_URL=db_url, COMPANION_REDIS_URL=redis_url, COMPANION_DATA_DIR=str(tmp),
               COMPANION_SECRET_KEY="bench", COMPANION_JIRA_BASE_URL=sb.url, COMPANION_JIRA_EMAIL=sb.email,
               COMPANION_JIRA_API_TOKEN=sb.token, COMPANION_JIRA_ALLOW_UNSIGNED_WEBHOOKS="true")
    return (ctx, sb, app, keys, {"token": token, **env})


def _comments(sb: Any, keys: list[str]) -> int:
    with sb.state.lock:
        return sum(len(sb.state.get(key).comments) for key in keys)


def main() -> int:
    """Run both measurements and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--latency-samples", type=int, default=40)
    parser.add_argument("--requests", type=int, default=20, help="requests the actions are spread over")
    args = parser.parse_args()
    from sync.models import OutboxAction
    from sync.settings import RateSettings

    with tempfile.TemporaryDirectory() as tmp_dir:
        ctx, sb, app, keys, env = _setup(Path(tmp_dir), max(1, args.requests))
        headers = {"Authorization": f"Bearer {env.pop('token')}"}
        client, runtime = app.test_client(), app.extensions["companion"]
        worker = [sys.executable, "-m", "app", "worker", "--queues", "outbound"]
        try:
            for n in range(args.actions):
                key = keys[n % len(keys)]
                assert client.post(f"/api/v1/tickets/{key}/comments", json={"body": f"bench {n}"},
                                   headers=headers).status_code == 202
            started = time.perf_counter()
            subprocess.run([*worker, "--burst"], cwd=REPO_ROOT, env=env, check=True, capture_output=True)
            wall = time.perf_counter() - started
            with runtime.sessions() as db:
                done = db.scalar(select(func.count()).where(OutboxAction.state == "done"))
                first, last = db.execute(select(func.min(OutboxAction.updated_at),
                                                func.max(OutboxAction.updated_at))).one()
            steady = (done - 1) / max((last - first).total_seconds(), 1e-9)
            landed = _comments(sb, keys)

            live = subprocess.Popen(worker, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            time.sleep(4)  # worker start-up is not part of an action's latency
            latencies = []
            for n in range(args.latency_samples):
                key = keys[n % len(keys)]
                before = _comments(sb, [key])
                t0 = time.perf_counter()
                client.post(f"/api/v1/tickets/{key}/comments", json={"body": f"latency {n}"}, headers=headers)
                while _comments(sb, [key]) == before and time.perf_counter() - t0 < 30:
                    time.sleep(0.002)
                latencies.append(time.perf_counter() - t0)
            live.terminate()
            live.wait(10)
        finally:
            ctx.__exit__(None, None, None)
    latencies.sort()
    rate = RateSettings()
    result = {
        "actions": args.actions, "requests": len(keys), "landed_in_jsm": landed, "done": done,
        "one_worker_actions_per_s_steady": round(steady, 1),
        "one_worker_actions_per_s_incl_startup": round(args.actions / wall, 1),
        "post_to_jsm_latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "post_to_jsm_latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
        "latency_samples": len(latencies),
        "configured_rate_per_s": rate.per_second,
        "notes": f"stand-in JSM on loopback, SQLite, embedded Redis, forking RQ worker, jira.rate {rate.per_second}/s "
                 f"burst {rate.burst}, actions spread over {len(keys)} requests",
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
