"""Log formats and redaction: secrets never reach a log line, in either format."""

from __future__ import annotations

import io
import json
import logging
import sys
import time

import pytest

from sync.logs import bound_request_id, configure_logging
from sync.settings import Settings

SECRETS = {"api_token": "ATATT3xFfGF0-very-secret-token", "webhook_secret": "whsec-0123456789abcdef",
           "secret_key": "flask-secret-key-9876", "db_password": "pg-pass-4321"}


@pytest.fixture
def logged(monkeypatch):  # type: ignore[no-untyped-def]
    """Configure logging like a process would, run a callable, return what it wrote."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level

    def run(fmt: str, emit) -> str:  # type: ignore[no-untyped-def]
        stream = io.StringIO()
        monkeypatch.setattr(sys, "stderr", stream)
        settings = Settings(jira={"base_url": "https://acme.atlassian.net", "email": "bot@acme.test",
                                  "api_token": SECRETS["api_token"], "webhook_secret": SECRETS["webhook_secret"]},
                            secret_key=SECRETS["secret_key"], log={"format": fmt},
                            database_url=f"postgresql+psycopg://companion:{SECRETS['db_password']}@db/companion")
        configure_logging(settings, "test")
        emit(logging.getLogger("companion.test"))
        return stream.getvalue()

    yield run
    root.handlers[:], root.level = saved


def _emit_secrets(log: logging.Logger) -> None:
    log.info("calling JSM with token %s", SECRETS["api_token"])
    log.warning("webhook from /webhooks/jira?token=%s rejected", "dc-query-token-555")
    log.info("headers %s", {"Authorization": "Basic Ym90QGFjbWUudGVzdDpzZWNyZXQ="})
    log.info("db at postgresql+psycopg://companion:%s@db/companion", SECRETS["db_password"])
    with bound_request_id("req-42"):
        try:
            raise RuntimeError(f"signature check with {SECRETS['webhook_secret']} failed")
        except RuntimeError:
            log.exception("webhook failed; secret key %s", SECRETS["secret_key"])


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_never_reach_a_log_line(logged, fmt: str) -> None:  # type: ignore[no-untyped-def]
    output = logged(fmt, _emit_secrets)
    for secret in (*SECRETS.values(), "dc-query-token-555", "Ym90QGFjbWUudGVzdDpzZWNyZXQ="):
        assert secret not in output, f"{secret!r} logged in {fmt} format"
    assert output.count("***") >= 6
    assert "req-42" in output


def test_json_format_is_one_object_per_line_with_the_request_id_and_extras(logged) -> None:  # type: ignore[no-untyped-def]
    def emit(log: logging.Logger) -> None:
        log.info("plain")
        with bound_request_id("abc123"):
            log.info("inside %s", "a request", extra={"ticket": "SUP-1"})

    lines = [json.loads(line) for line in logged("json", emit).splitlines()]
    assert [line["msg"] for line in lines] == ["plain", "inside a request"]
    assert "request_id" not in lines[0]
    assert lines[1]["request_id"] == "abc123" and lines[1]["ticket"] == "SUP-1"
    assert lines[1]["level"] == "info" and lines[1]["process"] == "test" and lines[1]["ts"].endswith("Z")


def test_the_webhook_lanes_line_is_the_line_full_redaction_writes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The lane's access line skips the secret-shaped patterns (sync.logs.PLAIN): for any request id a caller
    may give, status and duration, in either format, it is exactly the line the full redaction writes."""
    from hypothesis import given
    from hypothesis import settings as examples
    from hypothesis import strategies as st

    from app.redaction import install_redaction
    from app.requestlog import log_answer
    from app.webhooks import PATH
    from sync.logs import PLAIN

    root, lane = logging.getLogger(), logging.getLogger("companion.http")
    saved = list(root.handlers), root.level, lane.level
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    lane.addHandler(keep)
    lane.setLevel(logging.INFO)
    # Any id `new_request_id` accepts from a caller, the configured secrets among them.
    request_ids = st.one_of(st.from_regex(r"\A[A-Za-z0-9._:-]{1,64}\Z"), st.sampled_from(sorted(SECRETS.values())))

    @examples(max_examples=150, deadline=None)
    @given(rid=request_ids, status=st.integers(100, 599), seconds=st.floats(0, 100_000),
           fmt=st.sampled_from(["text", "json"]))
    def check(rid: str, status: int, seconds: float, fmt: str) -> None:
        monkeypatch.setattr(sys, "stderr", io.StringIO())
        configure_logging(Settings(jira={"api_token": SECRETS["api_token"], "email": "bot@acme.test",
                                         "base_url": "https://acme.atlassian.net",
                                         "webhook_secret": SECRETS["webhook_secret"]},
                                   secret_key=SECRETS["secret_key"], log={"format": fmt},
                                   database_url=f"postgresql+psycopg://c:{SECRETS['db_password']}@db/c"), "web")
        install_redaction()  # as create_app does: the URL patterns on every handler
        handler = root.handlers[0]
        with bound_request_id(rid):
            log_answer("webhooks", "POST", PATH, status, time.monotonic() - seconds, plain=True)
        lane_record = records.pop()
        assert getattr(lane_record, PLAIN) is True
        fully = logging.makeLogRecord({**vars(lane_record), PLAIN: False})
        assert handler.filter(fully)
        line = handler.format(lane_record)
        assert line == handler.format(fully)
        assert not any(secret in line for secret in SECRETS.values())
        assert f"POST {PATH} -> {status} in " in line

    try:
        check()
    finally:
        lane.removeHandler(keep)
        root.handlers[:], root.level = saved[0], saved[1]
        lane.setLevel(saved[2])
