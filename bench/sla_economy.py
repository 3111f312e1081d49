"""JSM calls spent on SLAs: per 1,000 webhook events and per full reconcile, next to the minimum.

The minimum is what any client must ask to keep a correct SLA mirror: one call each time a paid-desk
request's status, priority, first response or resolution changes (nothing else moves an SLA in JSM),
one per free desk to learn it has none, and nothing for a reconcile that finds no such change. Naive is
asking once per webhook (or per ticket on a reconcile).
"""

from __future__ import annotations

import json
from collections import Counter

import requests
from sqlalchemy import select

from bench.env import SECRET, BenchEnv
from sandbox.testing import running_sandbox

SLA_KIND = "sd.sla"
PAID_PROJECTS = frozenset({"SUP"})  # the stand-in's paid desk; HELP is free (no SLA)


def _script(url: str, requests_count: int) -> None:
    """What a working week does to requests on both desks: about ten webhooks each, mostly comments."""
    http = requests.Session()
    for i in range(requests_count):
        rtype = "11" if i % 2 == 0 else "22"
        key = http.post(f"{url}/_sandbox/requests", json={"summary": f"r{i}", "request_type": rtype}).json()["key"]
        http.post(f"{url}/_sandbox/requests/{key}/transition", json={"status": "In Progress"})
        for n in range(3):
            http.post(f"{url}/_sandbox/requests/{key}/comment", json={"body": f"internal {n}", "public": False})
        for n in range(2):
            http.post(f"{url}/_sandbox/requests/{key}/comment", json={"body": f"public {n}", "public": True})
        if i % 3 == 0:
            http.post(f"{url}/_sandbox/requests/{key}/priority", json={"priority": "High"})
        http.post(f"{url}/_sandbox/requests/{key}/transition", json={"status": "Resolved"})


def per_webhook_events(env: BenchEnv, requests_count: int) -> dict:
    """Each delivered webhook applied alone and followed by the SLA refresh of its request (the worker's
    worst case: a batch of one); SLA calls counted against the minimum and naive."""
    from app import create_app
    from bench.served import served
    from sync.inbound.drain import apply_inbox_row
    from sync.inbound.visibility import TUNING
    from sync.jsm.gateway import gateway_for
    from sync.models import InboundEvent, Ticket
    from sync.policies import sla

    with running_sandbox(seed="empty", webhook_secret=SECRET) as jsm:
        settings = env.settings(jira={"base_url": jsm.url, "email": jsm.email, "api_token": jsm.token,
                                      "webhook_secret": SECRET})
        app = create_app(settings)
        runtime = app.extensions["companion"]
        with served(app) as url:
            jsm.set_webhook(f"{url}/webhooks/jira", SECRET)
            _script(jsm.url, requests_count)
            jsm.wait_for_webhooks(120)
        gw = gateway_for(runtime, TUNING)
        events = minimum = 0
        free_seen: set[str] = set()
        with runtime.sessions() as db:
            ids = list(db.scalars(select(InboundEvent.id).where(InboundEvent.state == "pending")
                                  .order_by(InboundEvent.id)))
        for row_id in ids:
            with runtime.sessions() as db, db.begin():
                row = db.get(InboundEvent, row_id)
                assert row is not None
                key = json.loads(row.payload).get("issue", {}).get("key")
                ticket = db.scalars(select(Ticket).where(Ticket.key == key)).first() if key else None
                before = sla.signature(ticket) if ticket else None
                apply_inbox_row(row, db, runtime, runtime.mapping)
                events += 1
                ticket = db.scalars(select(Ticket).where(Ticket.key == key)).first() if key else None
                if ticket is not None:
                    if ticket.project_key in PAID_PROJECTS and sla.signature(ticket) != before:
                        minimum += 1
                    elif ticket.project_key not in PAID_PROJECTS and ticket.project_key not in free_seen:
                        free_seen.add(ticket.project_key)
                        minimum += 1
            if key:
                sla.refresh(runtime, gw, keys=[key])
        runtime.close()
    calls = gw.calls.get(SLA_KIND, 0)
    return {"requests": requests_count, "webhook_events": events, "sla_calls": calls, "minimum_calls": minimum,
            "naive_calls": events,
            "sla_calls_per_1000_events": round(1000 * calls / max(events, 1), 1),
            "minimum_per_1000_events": round(1000 * minimum / max(events, 1), 1),
            "ratio_to_minimum": round(calls / max(minimum, 1), 3)}


def per_full_reconcile(env: BenchEnv, tickets: int) -> dict:
    """Two full reconciles of N tickets, each followed by the SLA refresh `reconcile_full` runs: the first
    fills the mirror, the second (nothing changed) should ask nothing."""
    from sync.inbound.reconcile import reconcile
    from sync.jsm.gateway import JsmGateway
    from sync.policies import sla
    from sync.runtime import Runtime

    with running_sandbox(seed=f"bench:{tickets}") as jsm:
        settings = env.settings(jira={"base_url": jsm.url, "email": jsm.email, "api_token": jsm.token,
                                      "webhook_secret": SECRET, "projects": ["SUP", "HELP"]})
        runtime = Runtime(settings)
        projects = Counter(k.split("-")[0] for k in requests.get(f"{jsm.url}/_sandbox/state").json()["requests"])
        rounds = []
        for _ in range(2):
            gw = JsmGateway.from_settings(settings, rate=1000.0, burst=1000)
            reconcile(runtime, full=True, gateway=gw)
            sla.refresh(runtime, gw)
            rounds.append(gw.calls.get(SLA_KIND, 0))
        runtime.close()
    paid = sum(n for p, n in projects.items() if p in PAID_PROJECTS)
    free_desks = sum(1 for p in projects if p not in PAID_PROJECTS)
    return {"tickets": tickets, "paid_desk_tickets": paid,
            "first": {"sla_calls": rounds[0], "minimum_calls": paid + free_desks, "naive_calls": tickets},
            "unchanged_again": {"sla_calls": rounds[1], "minimum_calls": 0, "naive_calls": tickets}}


def run(env: BenchEnv, quick: bool = False) -> dict:
    """Both SLA economy figures."""
    from bench.env import bench_env

    events = per_webhook_events(env, 30 if quick else 100)
    with bench_env() as fresh:  # a store of its own: the webhook run's tickets must not count here
        reconciles = per_full_reconcile(fresh, 250 if quick else 1000)
    return {"per_webhook_events": events, "per_full_reconcile": reconciles}
