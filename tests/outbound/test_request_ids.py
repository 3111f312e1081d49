"""JSON logs: one request id found in the web's log line, on the inbox/outbox row, in the job's and the JSM call's."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from sync.logs import configure_logging, request_id
from sync.models import InboundEvent, OutboxAction
from sync.settings import LogSettings
from sync.worker import make_worker


@pytest.fixture
def json_log(env, monkeypatch) -> Iterator[io.StringIO]:  # type: ignore[no-untyped-def]
    """Every log record of this process as JSON lines in a buffer (the configured handler, on stderr)."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    configure_logging(env.settings.model_copy(update={"log": LogSettings(format="json")}), "test")
    yield stream
    root.handlers[:], root.level = saved


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_a_webhook_and_a_customer_action_are_followed_by_one_request_id(env, json_log) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()  # JSM sends its webhook to the served app; the inbox is applied
    with env.runtime.sessions() as db:
        row = db.scalars(select(InboundEvent).where(InboundEvent.issue_key == key)).first()
    assert row is not None and row.request_id
    webhook = [line for line in _lines(json_log) if line.get("request_id") == row.request_id]
    assert any(line["logger"] == "companion.http" and "POST /webhooks/jira -> 202" in line["msg"] for line in webhook)
    assert any(line["msg"].startswith(f"inbox {row.id} ") for line in webhook), webhook

    response = env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "Any news?"}, headers=env.headers())
    assert response.status_code == 202
    rid = response.headers["X-Request-Id"]
    with env.runtime.sessions() as db:
        action = db.scalars(select(OutboxAction)).one()
    assert action.request_id == rid
    worker = make_worker(env.runtime, ["outbound"], inline=True)  # the real RQ job the API enqueued
    assert worker.work(burst=True)
    mine = [line for line in _lines(json_log) if line.get("request_id") == rid]
    assert any(line["logger"] == "companion.http" and f"/api/v1/tickets/{key}/comments" in line["msg"]
               for line in mine)
    assert any(line["msg"] == f"outbox {action.id} (comment) confirmed by JSM" for line in mine), mine
    jsm = [line for line in mine if line.get("jsm_kind")]
    assert any(line["msg"].startswith("JSM POST ") and line["jsm_status"] == "201" for line in jsm), mine
    # A caller's own id is taken when it is a plain token, and answered back.
    echoed = env.client.get("/healthz", headers={"X-Request-Id": "lb-1234"})
    assert echoed.headers["X-Request-Id"] == "lb-1234"
    forged = env.client.get("/healthz", headers={"X-Request-Id": 'x" "level": "error'})
    assert forged.headers["X-Request-Id"] != 'x" "level": "error'


def test_a_push_in_this_process_leaves_no_request_id_behind(env) -> None:  # type: ignore[no-untyped-def]
    """A push logs under the id of the request that accepted the action, and only the push does: a burst
    worker or anything else in the same process logs its next lines under its own id, or none."""
    key = env.raise_request()
    response = env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "Any news?"}, headers=env.headers())
    assert response.status_code == 202 and response.headers["X-Request-Id"]
    assert request_id.get() is None
    env.push_all()
    with env.runtime.sessions() as db:
        assert db.scalars(select(OutboxAction.state)).one() == "done"
    assert request_id.get() is None
