"""The webhook lane in front of Flask (app.webhook_dispatch): what a delivery skips, and what it still gets."""

from __future__ import annotations

import functools
import io
import json
import logging
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from app import MAX_BODY_BYTES
from app.security import SECURITY_HEADERS
from sync.logs import request_id
from sync.models import InboundEvent
from sync.telemetry import HTTP_RESPONSES
from tests.conftest import TEST_WEBHOOK_SECRET
from tests.helpers import issue_payload, post_webhook, sign


class _Lines(logging.Handler):
    """Each line of `companion.http` with the request id bound while it was logged."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.getMessage(), request_id.get()))


@pytest.fixture
def http_lines():  # type: ignore[no-untyped-def]
    handler, logger = _Lines(), logging.getLogger("companion.http")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def stored(runtime: Any, delivery_id: str) -> InboundEvent | None:
    with runtime.sessions() as db:
        return db.scalars(select(InboundEvent).where(InboundEvent.delivery_id == delivery_id)).one_or_none()


def test_a_delivery_runs_no_flask_hook_and_other_requests_still_do(app, client) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    app.before_request(lambda: seen.append("hook") and None)
    assert post_webhook(client, issue_payload(), delivery_id="lane-1").status_code == 202
    assert seen == []
    assert client.get("/healthz").status_code == 200
    assert seen == ["hook"]
    # Other methods on the path are Flask's: no route for GET.
    assert client.get("/webhooks/jira").status_code == 405


def test_the_answer_carries_the_request_id_the_security_headers_and_is_logged_and_counted(
        client, runtime, http_lines) -> None:  # type: ignore[no-untyped-def]
    counted = HTTP_RESPONSES.labels(endpoint="webhooks", status="2xx")
    before = counted._value.get()
    response = post_webhook(client, issue_payload(), delivery_id="lane-2", headers={"X-Request-Id": "jira-42"})
    assert response.status_code == 202 and response.json["status"] == "accepted"
    assert response.headers["X-Request-Id"] == "jira-42"
    assert response.headers["Content-Type"] == "application/json"
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    row = stored(runtime, "lane-2")
    assert row is not None and row.request_id == "jira-42"
    assert any(msg.startswith("POST /webhooks/jira -> 202 in ") and rid == "jira-42" for msg, rid in http_lines)
    assert counted._value.get() == before + 1
    assert request_id.get() is None  # unbound again after the answer


def test_a_forged_request_id_is_replaced_by_a_fresh_one(client, runtime) -> None:  # type: ignore[no-untyped-def]
    response = post_webhook(client, issue_payload(), delivery_id="lane-3", headers={"X-Request-Id": 'x" "lvl": 1'})
    rid = response.headers["X-Request-Id"]
    assert rid != 'x" "lvl": 1' and len(rid) == 32
    row = stored(runtime, "lane-3")
    assert row is not None and row.request_id == rid


def test_a_bad_signature_is_refused_on_the_lane_logged_and_nothing_stored(client, runtime,
                                                                          http_lines) -> None:  # type: ignore[no-untyped-def]
    response = post_webhook(client, issue_payload(), secret="not-the-secret-0123456789", delivery_id="lane-4")
    assert response.status_code == 401 and "X-Hub-Signature" in response.json["error"]
    assert response.headers["X-Request-Id"]
    assert stored(runtime, "lane-4") is None
    assert any(msg.startswith("POST /webhooks/jira -> 401") for msg, _ in http_lines)


def test_every_202_is_answered_after_its_row_is_committed(app, runtime) -> None:  # type: ignore[no-untyped-def]
    """Concurrent deliveries share commits; each one that is answered is already readable elsewhere."""
    missing: list[str] = []
    statuses: list[int] = []

    def deliver(k: int) -> None:
        client = app.test_client()
        for i in range(10):
            delivery = f"lane-c-{k}-{i}"
            response = post_webhook(client, issue_payload(f"SUP-{k + 1}"), delivery_id=delivery)
            statuses.append(response.status_code)
            if response.status_code == 202 and stored(runtime, delivery) is None:
                missing.append(delivery)

    threads = [threading.Thread(target=deliver, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [202] * 80
    assert missing == []


def test_a_defect_in_the_receiver_is_a_logged_500_not_a_lost_answer(client, monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    import app.webhook_dispatch as dispatch

    def broken(*_args: Any) -> tuple[int, dict[str, Any]]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(dispatch, "receive_delivery", broken)
    with caplog.at_level(logging.ERROR):
        response = post_webhook(client, issue_payload())
    assert response.status_code == 500 and response.json == {"error": "internal error"}
    assert any("webhook receiver failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_behind_a_trusted_proxy_the_lane_sees_the_clients_scheme(tmp_path, database_url, redis_url,
                                                                 redis_client) -> None:  # type: ignore[no-untyped-def]
    from app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, database_url, redis_url, proxy={"trusted_hops": 1}), {"TESTING": True})
    response = post_webhook(app.test_client(), issue_payload(), headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 202
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    app.extensions["companion"].close()


def test_a_failed_commit_answers_every_delivery_of_its_batch_503_and_stores_nothing(app, runtime) -> None:  # type: ignore[no-untyped-def]
    """Concurrent deliveries share a commit; when it fails, none of them is answered 2xx (Jira retries them)."""
    with runtime.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER refuse_inbox BEFORE INSERT ON inbound_events "
                             "BEGIN SELECT RAISE(ABORT, 'inbox refused'); END")
    answers: list[tuple[int, str]] = []

    def deliver(k: int) -> None:
        client = app.test_client()
        for i in range(5):
            response = post_webhook(client, issue_payload(f"SUP-{k + 1}"), delivery_id=f"refused-{k}-{i}")
            answers.append((response.status_code, response.json["error"]))

    threads = [threading.Thread(target=deliver, args=(k,)) for k in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:  # the database outlives the test
        with runtime.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER refuse_inbox")
    assert len(answers) == 40
    assert all(status == 503 and "retried by Jira" in error for status, error in answers), answers
    with runtime.sessions() as db:
        assert db.scalars(select(InboundEvent)).all() == []


@pytest.mark.parametrize("lane", ["dispatch", "flask view"])
@pytest.mark.parametrize(("declared", "size", "status"), [
    (True, None, 202),  # Content-Length given: the stream is read as the server framed it
    (True, MAX_BODY_BYTES + 1, 413),  # refused on the declared length, nothing read
    (False, None, 202),  # chunked: no length, read up to the limit
    (False, MAX_BODY_BYTES, 202),  # chunked and exactly at the limit: every byte kept
    (False, MAX_BODY_BYTES + 1, 413),
])
def test_a_body_framed_by_the_server_is_read_whole_and_limited_to_1_mib(app, runtime, lane: str, declared: bool,
                                                                        size: int | None, status: int) -> None:
    """As gunicorn hands a body over (`wsgi.input_terminated`); the test client's bodies take werkzeug's path.

    Both receivers answer alike: the lane in front of Flask, and the Flask view of an app served without it.
    """
    body = json.dumps(issue_payload()).encode()
    if size is not None:
        body = body[:-1] + b" " * (size - len(body)) + b"}"
    headers = {"X-Hub-Signature": sign(body, TEST_WEBHOOK_SECRET), "X-Atlassian-Webhook-Identifier": f"framed-{size}",
               "Content-Type": "application/json"}
    environ = EnvironBuilder(path="/webhooks/jira", method="POST", headers=headers).get_environ()
    environ.update({"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True})
    environ.pop("CONTENT_LENGTH", None)
    if declared:
        environ["CONTENT_LENGTH"] = str(len(body))
    wsgi = app.wsgi_app if lane == "dispatch" else functools.partial(Flask.wsgi_app, app)  # Flask's own, unwrapped
    answer, answer_status, _ = run_wsgi_app(wsgi, environ)
    assert int(answer_status.split()[0]) == status, b"".join(answer)
    row = stored(runtime, f"framed-{size}")
    assert (row is not None and row.payload == body.decode()) if status == 202 else row is None
