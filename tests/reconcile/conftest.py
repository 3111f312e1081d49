"""Fixtures: a stand-in JSM (no webhooks reach us: every change is a "missed webhook"), a runtime on
SQLite or PostgreSQL pointed at it, and a check that the store mirrors the stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select

from sandbox.testing import RunningSandbox, running_sandbox
from sync.jsm.gateway import JsmGateway
from sync.models import Comment, Ticket
from sync.runtime import Runtime
from tests.conftest import make_settings


@pytest.fixture(params=["cloud", "datacenter"])
def site(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    with running_sandbox(seed="empty", deployment=request.param) as sb:
        yield sb


@pytest.fixture
def runtime(tmp_path, any_database_url, redis_url, redis_client, site) -> Iterator[Runtime]:
    settings = make_settings(tmp_path, any_database_url, redis_url, sync={"reconcile_overlap_seconds": 0},
                             jira={"base_url": site.url, "deployment": site.sandbox.deployment,
                                   "email": site.email, "api_token": site.token, "allow_unsigned_webhooks": True,
                                   "projects": ["SUP", "HELP"]})
    rt = Runtime(settings)
    yield rt
    rt.close()


def gateway_for(runtime: Runtime, **options: Any) -> JsmGateway:
    """The gateway reconcile would build, with a generous throttle so tests do not wait on it."""
    options.setdefault("backoff_base", 0.01)
    return JsmGateway.from_settings(runtime.settings, redis=runtime.redis, rate=1000, burst=1000, **options)


def control(site: RunningSandbox, method: str, path: str, body: dict | None = None) -> Any:
    resp = requests.request(method, f"{site.url}/_sandbox{path}", json=body or {}, timeout=10)
    resp.raise_for_status()
    return resp.json() if resp.content else None


def populate(site: RunningSandbox, count: int) -> list[str]:
    """`count` requests over both desks, each with a public and an internal comment."""
    keys = []
    for n in range(count):
        key = control(site, "POST", "/requests", {"summary": f"Request {n}",
                                                   "request_type": "11" if n % 2 else "21"})["key"]
        control(site, "POST", f"/requests/{key}/comment", {"body": f"reply {n}", "public": True})
        control(site, "POST", f"/requests/{key}/comment", {"body": f"secret {n}", "public": False})
        keys.append(key)
    return keys


def assert_mirrors(runtime: Runtime, site: RunningSandbox) -> None:
    """Every live request mirrored with JSM's status and priority; public comments public, internal never."""
    state = requests.get(f"{site.url}/_sandbox/state", timeout=10).json()["requests"]
    with runtime.sessions() as session:
        tickets = {t.key: t for t in session.scalars(select(Ticket))}
        comments = {c.jira_id: c for c in session.scalars(select(Comment))}
    for key, want in state.items():
        if want["deleted"]:
            assert key not in tickets or tickets[key].deleted, key
            continue
        got = tickets[key]
        assert (got.jira_status_id, got.jira_priority_id, got.deleted) == (want["status_id"], want["priority_id"],
                                                                           False), key
        for c in want["public_comments"]:
            got_c = comments.get(c["id"])
            assert got_c is not None and got_c.public and not got_c.deleted and got_c.body == c["body"], (key, c)
        for cid in want["internal_comment_ids"]:
            assert cid not in comments or not comments[cid].public, (key, cid)
    assert not [c for c in comments.values() if c.public and any(
        c.jira_id in w.get("internal_comment_ids", ()) for w in state.values())]
