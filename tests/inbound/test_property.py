"""End to end: random agent/customer changes in the stand-in JSM, webhook chaos, then drain + one reconcile.

Whatever was dropped, duplicated, reordered or delayed, every ticket in the store equals JSM afterwards:
customer status, priority, public comment ids and bodies, deleted or not. Real Redis and RQ, the
stand-in JSM over HTTP, our receiver over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bench.served import served
from sandbox.testing import running_sandbox
from sync.inbound.reconcile import reconcile
from sync.models import Comment, Ticket
from sync.worker import make_worker
from tests.conftest import _empty_tables, make_settings

SECRET = "property-secret-0123456789"
STATUSES = ["Waiting for Support", "Waiting for Customer", "In Progress", "Escalated", "On Hold", "Resolved",
            "Canceled", "Closed"]
PRIORITIES = ["Highest", "High", "Medium", "Low", "Lowest"]

ops = st.lists(st.one_of(
    st.tuples(st.just("new"), st.sampled_from(["SUP", "HELP"])),
    st.tuples(st.just("transition"), st.integers(0, 5), st.sampled_from(STATUSES)),
    st.tuples(st.just("comment"), st.integers(0, 5), st.booleans(), st.booleans()),
    st.tuples(st.just("priority"), st.integers(0, 5), st.sampled_from(PRIORITIES)),
    st.tuples(st.just("delete"), st.integers(0, 5)),
), min_size=1, max_size=10)
faults = st.fixed_dictionaries({
    "drop": st.sampled_from([0.1, 0.3, 0.6]), "duplicate": st.sampled_from([0.0, 0.5]),
    "reorder": st.sampled_from([0.0, 0.5]), "delay_ms": st.sampled_from([0, 30])})


@pytest.fixture
def world(tmp_path: Path, any_database_url: str, redis_url: str, redis_client) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The stand-in JSM and our app, each on its own port, wired by signed webhooks."""
    from app import create_app

    with running_sandbox(seed="empty", webhook_secret=SECRET) as jsm:
        settings = make_settings(tmp_path, any_database_url, redis_url, jira={
            "base_url": jsm.url, "email": jsm.email, "api_token": jsm.token, "webhook_secret": SECRET,
            "projects": ["SUP", "HELP"]})
        app = create_app(settings, {"TESTING": True})
        runtime = app.extensions["companion"]
        with served(app) as url:
            jsm.set_webhook(f"{url}/webhooks/jira", SECRET)
            customer = next(a.email for a in jsm.state.accounts.values() if a.kind == "customer")
            yield {"jsm": jsm, "runtime": runtime, "url": any_database_url, "redis": redis_client,
                   "customer": customer}
        runtime.close()


def run_ops(jsm_url: str, customer: str, steps: list[tuple]) -> None:
    """Drive the stand-in like agents and customers; refused moves (e.g. commenting on Closed) are skipped."""
    http = requests.Session()
    keys: list[str] = []
    for step in steps:
        kind = step[0]
        if kind == "new":
            r = http.post(f"{jsm_url}/_sandbox/requests", json={"reporter": customer, "summary": "s",
                                                                "request_type": "11" if step[1] == "SUP" else "21"})
            if r.status_code == 201:
                keys.append(r.json()["key"])
            continue
        if not keys:
            continue
        key = keys[step[1] % len(keys)]
        if kind == "transition":
            http.post(f"{jsm_url}/_sandbox/requests/{key}/transition", json={"status": step[2]})
        elif kind == "comment":
            body = {"body": f"c{len(keys)}-{step[1]}", "public": step[2]}
            if step[3]:
                body.update({"as": customer, "public": True})  # customers only write public comments
            http.post(f"{jsm_url}/_sandbox/requests/{key}/comment", json=body)
        elif kind == "priority":
            http.post(f"{jsm_url}/_sandbox/requests/{key}/priority", json={"priority": step[2]})
        elif kind == "delete":
            http.delete(f"{jsm_url}/_sandbox/requests/{key}")


def assert_store_equals_jsm(runtime: Any, jsm_state: dict[str, Any]) -> None:
    mapping = runtime.mapping
    with runtime.sessions() as db:
        tickets = {t.key: t for t in db.scalars(select(Ticket))}
        for key, want in jsm_state["requests"].items():
            ticket = tickets.get(key)
            if want.get("deleted"):
                assert ticket is None or ticket.deleted, f"{key} was deleted in JSM"
                continue
            assert ticket is not None and not ticket.deleted, f"{key} missing from the store"
            expected_status = mapping.resolve_status(want["status_id"], want["status"],
                                                     ticket.jira_status_category).key
            assert (ticket.customer_status, ticket.jira_status_name) == (expected_status, want["status"]), key
            assert (ticket.customer_priority, ticket.jira_priority_name) == (
                mapping.resolve_priority(want["priority_id"], want["priority"]).key, want["priority"]), key
            shown = {c.jira_id: c.body for c in db.scalars(select(Comment).where(
                Comment.ticket_id == ticket.id, Comment.public.is_(True), Comment.deleted.is_(False)))}
            assert shown == {c["id"]: c["body"] for c in want["public_comments"]}, key
        assert set(tickets) <= set(jsm_state["requests"]), "a ticket JSM never had"


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=ops, chaos=faults, seed=st.integers(0, 10_000))
def test_store_converges_to_jsm_under_webhook_chaos(world: dict[str, Any], steps: list[tuple],
                                                    chaos: dict[str, Any], seed: int) -> None:
    jsm, runtime = world["jsm"], world["runtime"]
    # A fresh world per example: empty stand-in, empty store, empty queues.
    requests.post(f"{jsm.url}/_sandbox/reset", json={"seed": "empty"}, timeout=10).raise_for_status()
    _empty_tables(world["url"])
    world["redis"].flushdb()
    requests.post(f"{jsm.url}/_sandbox/faults", json={"seed": seed, "webhooks": chaos}, timeout=10)
    run_ops(jsm.url, world["customer"], steps)
    assert jsm.wait_for_webhooks(timeout=20), "webhooks still in flight"
    requests.post(f"{jsm.url}/_sandbox/faults", json={}, timeout=10)

    # A real RQ worker drains, in this process, handing its jobs this runtime.
    make_worker(runtime, ["inbound"], inline=True, connection=world["redis"]).work(burst=True)
    result = reconcile(runtime, full=True)
    assert result.busy == 0
    state = requests.get(f"{jsm.url}/_sandbox/state", timeout=10).json()
    assert_store_equals_jsm(runtime, state)
