"""(g) Notifications: e-mails per second through a local SMTP server (aiosmtpd), and webhook → SMTP accepted.

Throughput: N stored mails drained by one in-process `drain_notifications` (one SMTP conversation per
mail, "handed over" committed before each message's data, as in production).
Delay: real gunicorn and a `companion worker --queues inbound notify` process, coalescing 0; signed
webhooks, one at a time, each move a request to the other customer status. For each, the time from POST
to the SMTP server accepting that request's mail (p50/p95) and, from the same webhooks, the time until
GET /api/v1/tickets/<key> shows the change (the portal freshness of this run). Loopback only; bounded.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller

from bench.env import ROOT, BenchEnv, gunicorn, percentile
from bench.freshness import _admin_token, _wait_for_workers
from bench.loadgen import headers

_STATUSES = (("Waiting for Customer", "10001"), ("In Progress", "3"))


class _Accepting:
    """Records when each message (by subject) was accepted."""

    def __init__(self) -> None:
        self.accepted: dict[str, float] = {}
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        subject = next((line for line in envelope.content.decode(errors="replace").splitlines()
                        if line.startswith("Subject:")), "")
        with self.lock:
            self.count += 1
            self.accepted.setdefault(subject, now)
        return "250 2.0.0 Ok: queued"


def _smtp() -> tuple[Controller, _Accepting]:
    handler = _Accepting()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, handler


def _throughput(env: BenchEnv, url: str, count: int) -> dict[str, Any]:
    from sqlalchemy import select

    from app.services.accounts import create_user
    from sync.jobs import drain_notifications
    from sync.models import OutgoingMail
    from sync.notify.account_mail import queue_account_mail
    from sync.runtime import Runtime

    runtime = Runtime(env.settings(mail={"smtp_url": url}))
    with runtime.sessions() as db, db.begin():
        user, _ = create_user(db, email="throughput@bench.test", role="admin", password="bench password 1")
        for i in range(count):
            queue_account_mail(db, runtime.settings, user, "invite", f"http://bench.test/invite/{i}")
    started = time.monotonic()
    drain_notifications(runtime)
    elapsed = time.monotonic() - started
    with runtime.sessions() as db:
        sent = sum(1 for m in db.scalars(select(OutgoingMail)) if m.state == "sent")
        db.execute(OutgoingMail.__table__.delete())
        db.commit()
    runtime.close()
    return {"mails": count, "sent": sent, "seconds": round(elapsed, 2), "mails_per_s": round(sent / elapsed, 1)}


def _recipients(env: BenchEnv, tickets: int) -> None:
    from app.services.accounts import create_user
    from sync.runtime import Runtime

    runtime = Runtime(env.settings())
    with runtime.sessions() as db, db.begin():
        for n in range(1, tickets + 1):  # admins see every request, so webhook-made requests reach them
            create_user(db, email=f"reporter{n}@bench.test", role="admin", password="bench password 1",
                        jira_account_id=f"acc-{n}")
    runtime.close()


def _webhook(i: int, n: int, status: int) -> bytes:
    """Webhook `i` moving SUP-`n` to `_STATUSES[status]`; the summary carries `m-i` (subject and API show it)."""
    name, status_id = _STATUSES[status]
    now_ms = int(time.time() * 1000)
    fields = {"summary": f"Bench {n} m-{i}", "project": {"key": "SUP"},
              "status": {"id": status_id, "name": name, "statusCategory": {"key": "indeterminate"}},
              "priority": {"id": "3", "name": "Medium"}, "issuetype": {"name": "Incident"},
              "created": "2026-01-01T00:00:00.000+0000",
              "updated": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_ms // 1000)) + f".{now_ms % 1000:03d}+0000",
              "reporter": {"accountId": f"acc-{n}", "displayName": "Customer"}}
    body = {"timestamp": now_ms, "webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_generic",
            "user": {"accountId": "agent"}, "issue": {"id": str(200000 + n), "key": f"SUP-{n}", "fields": fields},
            "changelog": {"id": str(2_000_000 + i), "items": [{"field": "status", "fieldId": "status",
                                                              "toString": name}]}}
    return json.dumps(body).encode()


def _connection(base: str) -> http.client.HTTPConnection:
    parts = urlsplit(base)
    assert parts.hostname == "127.0.0.1", "load goes to loopback only"
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)


def _post(base: str, body: bytes, i: int) -> int:
    conn = _connection(base)
    conn.request("POST", "/webhooks/jira", body=body, headers=headers(body, i))
    status = conn.getresponse().status
    conn.close()
    return status


def _visible(base: str, token: str, key: str, marker: str, sent: float, timeout: float) -> float | None:
    """Seconds from `sent` until GET /api/v1/tickets/`key` shows `marker` in the summary (portal freshness)."""
    conn = _connection(base)
    try:
        while time.monotonic() - sent < timeout:
            conn.request("GET", f"/api/v1/tickets/{key}", headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            data = response.read()
            if response.status == 200 and json.loads(data).get("summary", "").endswith(marker):
                return time.monotonic() - sent
            time.sleep(0.01)
        return None
    finally:
        conn.close()


def _accepted(handler: _Accepting, subject: str, sent: float, timeout: float) -> float | None:
    """Seconds from `sent` until the SMTP server accepted the mail with `subject`."""
    while time.monotonic() - sent < timeout:
        with handler.lock:
            at = handler.accepted.get(subject)
        if at is not None:
            return at - sent
        time.sleep(0.005)
    return None


def _delay(env: BenchEnv, url: str, handler: _Accepting, tickets: int, rounds: int,
           timeout: float = 20) -> dict[str, Any]:
    """One webhook at a time (each moves a request to the other customer status); for each, the time until the
    portal API shows it and the time until the SMTP server accepted its mail: both figures from the same events."""
    _recipients(env, tickets)
    token = _admin_token(env)
    child = env.child_env(COMPANION_MAIL_SMTP_URL=url, COMPANION_NOTIFICATIONS_COALESCE_SECONDS="0")
    mail: list[float] = []
    fresh: list[float] = []
    with ExitStack() as stack:
        base = stack.enter_context(gunicorn("app.wsgi:application", child))
        proc = subprocess.Popen([sys.executable, "-m", "app", "worker", "--queues", "inbound", "notify"], cwd=ROOT,
                                env=child, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_workers(env, 1)
            for n in range(1, tickets + 1):  # the first event creates the request: history, no mail
                _post(base, _webhook(n, n, 0), n)
            for n in range(1, tickets + 1):
                if _visible(base, token, f"SUP-{n}", f"m-{n}", time.monotonic(), timeout) is None:
                    raise RuntimeError(f"SUP-{n} was not created by its webhook")
            i = tickets
            for r in range(rounds):
                for n in range(1, tickets + 1):
                    i += 1
                    sent = time.monotonic()
                    if _post(base, _webhook(i, n, (r + 1) % 2), i) != 202:
                        raise RuntimeError(f"webhook {i} was not accepted")
                    seen = _visible(base, token, f"SUP-{n}", f"m-{i}", sent, timeout)
                    at = _accepted(handler, f"Subject: [SUP-{n}] Bench {n} m-{i}", sent, timeout)
                    if seen is not None:
                        fresh.append(seen * 1000)
                    if at is not None:
                        mail.append(at * 1000)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {"webhooks": tickets * rounds, "mails_seen": len(mail), "coalesce_seconds": 0,
            "p50_ms": _ms(mail, 0.5), "p95_ms": _ms(mail, 0.95),
            "freshness_samples": len(fresh), "freshness_p50_ms": _ms(fresh, 0.5),
            "freshness_p95_ms": _ms(fresh, 0.95)}


def _ms(values: list[float], q: float) -> float | None:
    found = percentile(values, q)
    return None if found is None else round(found, 1)


def run(env: BenchEnv, quick: bool = False) -> dict[str, Any]:
    controller, handler = _smtp()
    url = f"smtp://127.0.0.1:{controller.port}"
    try:
        throughput = _throughput(env, url, 200 if quick else 1000)
        delay = _delay(env, url, handler, tickets=10, rounds=2 if quick else 5)
    finally:
        controller.stop()
    return {"database": env.dialect, "throughput": throughput, "webhook_to_smtp": delay}
