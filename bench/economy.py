"""(d) JSM economy: JSM calls per inbound event by kind (Cloud and DC), and per full reconcile vs the minimum;
SLA calls per 1,000 webhook events and per full reconcile (`bench.sla_economy`)."""

from __future__ import annotations

import json
import math
from collections import Counter

import requests
from sqlalchemy import select

from bench import sla_economy
from bench.env import SECRET, BenchEnv
from sandbox.testing import running_sandbox


def _script(url: str) -> None:
    """A little of everything agents and customers do."""
    http = requests.Session()
    keys = [http.post(f"{url}/_sandbox/requests", json={"summary": f"r{i}"}).json()["key"] for i in range(3)]
    for key in keys:
        http.post(f"{url}/_sandbox/requests/{key}/transition", json={"status": "In Progress"})
        http.post(f"{url}/_sandbox/requests/{key}/comment", json={"body": "public", "public": True})
        http.post(f"{url}/_sandbox/requests/{key}/comment", json={"body": "internal", "public": False})
        http.post(f"{url}/_sandbox/requests/{key}/priority", json={"priority": "High"})
    http.delete(f"{url}/_sandbox/requests/{keys[-1]}")


def per_event(env: BenchEnv, deployment: str) -> dict:
    """Apply each delivered webhook alone and count the JSM calls it caused."""
    from app import create_app
    from bench.served import served
    from sync.inbound.drain import apply_inbox_row
    from sync.inbound.visibility import TUNING
    from sync.jsm.gateway import gateway_for
    from sync.models import InboundEvent

    with running_sandbox(seed="empty", deployment=deployment, webhook_secret=SECRET) as jsm:
        settings = env.settings(jira={"base_url": jsm.url, "deployment": deployment, "email": jsm.email,
                                      "api_token": jsm.token, "webhook_secret": SECRET})
        app = create_app(settings)
        runtime = app.extensions["companion"]
        with served(app) as url:
            jsm.set_webhook(f"{url}/webhooks/jira", SECRET)
            _script(jsm.url)
            jsm.wait_for_webhooks(20)
        gw = gateway_for(runtime, TUNING)
        calls: Counter[str] = Counter()
        events: Counter[str] = Counter()
        with runtime.sessions() as db, db.begin():
            pending = select(InboundEvent).where(InboundEvent.state == "pending").order_by(InboundEvent.id)
            for row in db.scalars(pending):
                before = gw.total_calls()
                apply_inbox_row(row, db, runtime, runtime.mapping)
                kind = json.loads(row.payload)["webhookEvent"]
                events[kind] += 1
                calls[kind] += gw.total_calls() - before
        runtime.close()
    return {kind: {"events": n, "jsm_calls": calls[kind], "calls_per_event": round(calls[kind] / n, 3)}
            for kind, n in sorted(events.items())}


def per_reconcile(env: BenchEnv, tickets: int) -> dict:
    """A full reconcile of N tickets: calls by endpoint kind next to the pages a search needs at least."""
    from sync.inbound.reconcile import PAGE_SIZE, reconcile
    from sync.jsm.gateway import JsmGateway
    from sync.runtime import Runtime

    with running_sandbox(seed=f"bench:{tickets}") as jsm:
        settings = env.settings(jira={"base_url": jsm.url, "email": jsm.email, "api_token": jsm.token,
                                      "webhook_secret": SECRET, "projects": ["SUP", "HELP"]})
        runtime = Runtime(settings)
        per_project = Counter(k.split("-")[0] for k in requests.get(f"{jsm.url}/_sandbox/state").json()["requests"])
        gw = JsmGateway.from_settings(settings, rate=1000.0, burst=1000)
        result = reconcile(runtime, full=True, gateway=gw)
        runtime.close()
    minimum = 1 + sum(math.ceil(n / PAGE_SIZE) for n in per_project.values())  # field ids + search pages
    return {"tickets": tickets, "fetched": result.fetched, "jsm_calls": gw.total_calls(), "by_kind": gw.calls,
            "minimum_calls": minimum, "ratio_to_minimum": round(gw.total_calls() / minimum, 3)}


def run(env: BenchEnv, quick: bool = False) -> dict:
    """Both economy figures, Cloud and Data Center."""
    from bench.env import bench_env

    per_inbound: dict[str, dict] = {"cloud": per_event(env, "cloud")}
    # A store of its own: the stand-in gives the same comment ids again, and a comment the Cloud run
    # already stored would not be asked about (which is right in production, wrong for this count).
    with bench_env() as fresh:
        per_inbound["datacenter"] = per_event(fresh, "datacenter")
    # A store of its own too: the per-event runs stored comments on issue ids that `bench:N` gives again
    # without them, and a stored comment missing from a page costs one listing to confirm its deletion
    # (the reconcile's safety rule, not waste). The minimum below is for a first mirror of the site.
    with bench_env() as fresh:
        full = per_reconcile(fresh, 250 if quick else 1000)
    with bench_env() as fresh:  # SLAs: their own store again (a filled mirror would ask nothing)
        slas = sla_economy.run(fresh, quick=quick)
    return {"per_inbound_event": per_inbound, "full_reconcile": full, "sla": slas}
