"""The chaos soak: a many-process install under faults and kills, then checked against JSM.

PostgreSQL (a database created for the run and dropped after it), a redis-server started on a free
loopback port, 2 `companion serve`, 3 `companion worker`, 2 `companion scheduler` and the stand-in JSM
(in this process, on a free loopback port) with rate limits, 5xx and dropped/duplicated/reordered
webhooks. Agents change requests through the stand-in's control endpoints; a customer comments,
resolves, reopens and creates through the API with idempotency keys (retrying with the same key on
errors, as a client must); a chaos thread SIGKILLs workers, web processes and the leading scheduler,
restarts Redis empty and terminates every database backend. Then faults are cleared, a full reconcile
runs, queues drain, and the store is compared with `/_sandbox/state`: every request equal, every
accepted customer comment and creation present in JSM exactly once, and every public agent reply
mailed to the customer exactly once through a real SMTP server (`tests.ops.soak_mail`). Prints a
JSON report.

    .venv/bin/python -m tests.ops.soak [--operations 120] [--requests 12] [--chaos-every 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from app import create_app
from app.services.accounts import create_org, create_user, issue_token
from sandbox.testing import RunningSandbox, running_sandbox
from sync.models import OutboxAction, OutboxState
from sync.runtime import Runtime
from sync.settings import Settings
from tests.ops.procs import free_port, healthy, process_env, wait_until
from tests.ops.soak_actors import Customer, agent_act
from tests.ops.soak_chaos import BLOWS, CHAOS_ROUND_CAP_SECONDS, Chaos
from tests.ops.soak_checks import Tally, backlog, mismatches, once_each, queues_settled
from tests.ops.soak_mail import MailSink, mail_report
from tests.ops.soak_services import SECRET, Install, RedisServer, fresh_postgres

# Long: the log redactor masks the secret key wherever it appears, and a short word would mask log text.
SECRET_KEY = "soak-secret-key-0123456789abcdef"
CUSTOMER = "customer1@example.com"
PACE_SECONDS = 0.1  # between operations, so the blows land while work is in flight
FAULTS = {"rate_limit": {"every": 9, "retry_after": 1}, "error_rate": 0.05,
          "webhooks": {"drop": 0.15, "duplicate": 0.2, "reorder": 0.3, "delay_ms": 50}}


# --------------------------------------------------------------------------- the scenario
def _link_customer(settings: Settings, sb: RunningSandbox) -> str:
    runtime = create_app(settings, {"TESTING": True}).extensions["companion"]
    account = sb.state.by_email[CUSTOMER]
    with runtime.sessions() as db, db.begin():
        create_org(db, "acme", "Acme Corp", account.org_ids[0])
        user, _ = create_user(db, email=CUSTOMER, role="customer", org_slug="acme", name=account.display_name,
                              jira_account_id=account.account_id, password="soak password 1")
        token = issue_token(db, user, "soak")
    runtime.close()
    return token


def run_soak(operations: int = 120, requests_n: int = 12, chaos_every: float = 4.0, seed: int = 1,
             work_dir: Path | None = None, settle_timeout: float = 240, rounds: int = 1) -> dict[str, Any]:
    """Run the scenario; returns the report (`ok` false on anything lost, doubled or different)."""
    began, rng, tally = time.monotonic(), random.Random(seed), Tally()
    work = work_dir or Path(tempfile.mkdtemp(prefix="companion-soak-"))
    (work / "logs").mkdir(parents=True, exist_ok=True)
    redis_server, mail = RedisServer(work), MailSink()
    try:
        with fresh_postgres() as (db_url, admin, db_name), running_sandbox(seed="empty") as sb:
            web_ports = [free_port(), free_port()]
            sb.set_webhook(f"http://127.0.0.1:{web_ports[0]}/webhooks/jira", SECRET)
            settings = Settings(data_dir=work, database_url=db_url, redis_url=redis_server.url, secret_key=SECRET_KEY,
                                jira={"base_url": sb.url, "email": sb.email, "api_token": sb.token,
                                      "webhook_secret": SECRET})
            token = _link_customer(settings, sb)
            keys = [requests.post(f"{sb.url}/_sandbox/requests", timeout=10, json={
                "reporter": CUSTOMER, "request_type": "11", "summary": f"soak seed {n}"}).json()["key"]
                for n in range(requests_n)]
            env = process_env(settings, COMPANION_JIRA_BASE_URL=sb.url, COMPANION_JIRA_EMAIL=sb.email,
                              COMPANION_JIRA_API_TOKEN=sb.token, COMPANION_JIRA_WEBHOOK_SECRET=SECRET,
                              COMPANION_SECRET_KEY=SECRET_KEY, COMPANION_SYNC_RECONCILE_CRON="* * * * * */20",
                              COMPANION_MAIL_SMTP_URL=mail.url, COMPANION_NOTIFICATIONS_COALESCE_SECONDS="2")
            install = Install(env, work / "logs", web_ports, sb)
            report = _drive(install, sb, settings, redis_server, mail, admin, db_name, keys, token, tally, rng,
                            operations, chaos_every, settle_timeout, rounds)
    finally:
        redis_server.stop()
        mail.stop()
    report["duration_s"] = round(time.monotonic() - began, 1)
    report["logs"] = str(work / "logs")
    return report


def _drive(install: Install, sb: RunningSandbox, settings: Settings, redis_server: RedisServer, mail: MailSink,
           admin: Engine, db_name: str, keys: list[str], token: str, tally: Tally, rng: random.Random, operations: int,
           chaos_every: float, settle_timeout: float, rounds: int) -> dict[str, Any]:
    subprocess.run([sys.executable, "-m", "app", "reconcile", "--full"], env=install.env, check=True,
                   capture_output=True, timeout=120)
    for name in ("web0", "web1", "worker0", "worker1", "worker2", "scheduler0", "scheduler1"):
        install.start(name)
    runtime = Runtime(settings)
    try:
        for url in install.web_urls():
            if not wait_until(lambda u=url: healthy(u), 120):
                raise RuntimeError(f"{url} did not come up; see {install.logs}")
        requests.post(f"{sb.url}/_sandbox/faults", json={"seed": rng.randrange(10_000), **FAULTS},
                      timeout=10).raise_for_status()
        customer = Customer(install, token, tally, rng)
        chaos = Chaos(install, redis_server, admin, db_name, chaos_every, random.Random(rng.random()), tally)
        chaos.start()
        laps = Laps()
        cap = time.monotonic() + CHAOS_ROUND_CAP_SECONDS
        done = 0
        try:
            while done < operations or (chaos.landed < rounds * len(BLOWS) and time.monotonic() < cap):
                if rng.random() < 0.5:
                    agent_act(sb, keys, rng, done, tally)
                else:
                    customer.act(keys, done)
                done += 1
                time.sleep(PACE_SECONDS)
        finally:
            chaos.stopped.set()
            chaos.join(60)
            laps.lap("operations")
        # The end: no more faults, every webhook out, a full reconcile, queues drained, then compare.
        requests.post(f"{sb.url}/_sandbox/faults", json={}, timeout=10).raise_for_status()
        sb.wait_for_webhooks(30)
        settled = wait_until(lambda: queues_settled(runtime, tally), settle_timeout, 1.0)
        laps.lap("settle")
        subprocess.run([sys.executable, "-m", "app", "reconcile", "--full"], env=install.env, check=True,
                       capture_output=True, timeout=180)
        laps.lap("full_reconcile")
        sb.wait_for_webhooks(30)
        settled = wait_until(lambda: queues_settled(runtime, tally), settle_timeout, 1.0) and settled
        laps.lap("settle_again")
        jsm = requests.get(f"{sb.url}/_sandbox/state", timeout=30).json()
        different = mismatches(runtime, jsm)
        once = once_each(sb, tally)
        notifications = mail_report(runtime, mail, tally.agent_comments)
        with runtime.sessions() as db:
            failed_actions = int(db.scalar(select(func.count()).select_from(OutboxAction).where(
                OutboxAction.state == OutboxState.FAILED)) or 0)
        left = backlog(runtime)
    finally:
        install.stop_all()
        runtime.close()
    webhooks = sb.sandbox.sender
    return {
        "ok": bool(settled) and not different and not once["lost"] and not once["doubled"] and notifications["ok"],
        "requests": len(jsm["requests"]), "operations": done, "blows": chaos.landed,
        "events": {"agent": sum(v for k, v in tally.counts.items() if k.startswith("agent_") and k != "agent_refused"),
                   "webhooks_pending_at_end": webhooks.pending()},
        "actions": {"accepted_comments": len(tally.comments), "accepted_creates": len(tally.created),
                    **{k: v for k, v in sorted(tally.counts.items()) if k.startswith(("customer_", "api_"))},
                    "failed_in_outbox": failed_actions},
        "kills": {k: v for k, v in sorted(tally.counts.items()) if k.startswith("kills_")},
        "restarts": {k: v for k, v in sorted(tally.counts.items()) if k.startswith(("restarts_", "terminated_"))},
        "chaos_errors": {k: v for k, v in sorted(tally.counts.items()) if k.startswith("chaos_")},
        "backlog_at_end": left,
        "handed_back_at_end": {k: v for k, v in sorted(tally.counts.items()) if k.startswith("handed_back_")},
        "mismatches": len(different), "mismatch_details": different[:20],
        "lost": once["lost"], "doubled": once["doubled"], "notifications": notifications, "phases_s": laps.seconds,
    }


@dataclass
class Laps:
    """Seconds spent in each phase of the end, for the report (where a slow run spent its time)."""

    seconds: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name], self.started = round(now - self.started, 1), now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=120)
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--chaos-every", type=float, default=4.0, help="seconds between blows")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3,
                        help="whole rounds of blows (each kind at least once) before the operations may stop")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("sandbox.webhooks").setLevel(logging.ERROR)  # given-up deliveries are the point here
    report = run_soak(args.operations, args.requests, args.chaos_every, args.seed, rounds=args.rounds)
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
