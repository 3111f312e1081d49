"""Process logging: plain text or one JSON object per line (`log.format`), a request id, no secrets.

A request id follows one delivery or customer action through every process: the web request makes it
(or takes a caller's `X-Request-Id`), stores it on the inbox or outbox row and in the meta of the RQ job
it enqueues; the worker sets it while the job runs, and the JSM transport logs each call under it. The
current id lives in a context variable, so every log record of that work carries it without passing it.

Secrets never reach a log line: the configured secrets (JSM token, webhook secret, secret key, database
and Redis passwords) are replaced by `***` in every formatted record, whatever code logged them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sync.settings import Settings

request_id: ContextVar[str | None] = ContextVar("companion_request_id", default=None)
# Accepted from a caller's X-Request-Id: short and plain, so a header cannot forge log structure.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Query parameters and headers whose values are secrets wherever they appear in a message.
_SECRET_PARAMS = re.compile(r"(?i)((?:[?&]|\b)(?:token|api_token|password|secret)=)[^&\s\"']+")
_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:basic|bearer)\s+)[^\s'\"]+")
# Attributes every LogRecord has; anything else was passed as `extra=` and goes into the JSON object.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}
# `extra={PLAIN: True}` marks a record whose message and extras are made only of constants and numbers (the
# webhook lane's access line): the secret-shaped patterns cannot match its line, as its one caller-given
# part, the request id, is `_VALID_ID` text (no "=", quote or whitespace). Such a line is still checked for
# the configured secret values (a caller may send one as its request id) but not scanned for the patterns,
# the dearest part of a log line (tests/ops/test_logs.py proves the two lines equal).
PLAIN = "_plain"


def new_request_id(offered: str | None = None) -> str:
    """The caller's id when it is a plain token, else a fresh one."""
    if offered and _VALID_ID.match(offered):
        return offered
    return uuid.uuid4().hex


@contextmanager
def bound_request_id(value: str | None) -> Iterator[None]:
    """Log everything inside the block under `value` (None leaves the current id)."""
    if value is None:
        yield
        return
    token = request_id.set(value)
    try:
        yield
    finally:
        request_id.reset(token)


@contextmanager
def request_id_restored() -> Iterator[None]:
    """Whatever id the block binds with `request_id.set` (a claimed job's) ends with the block, so work done
    in-process after it (a burst worker, the tests) is not logged under that id."""
    token = request_id.set(request_id.get())
    try:
        yield
    finally:
        request_id.reset(token)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id.get()
        return True


class Redactor:
    """Replaces known secret values and secret-looking parameters in a formatted line."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = self.values(text)
        text = _SECRET_PARAMS.sub(r"\1***", text)
        return _AUTH_HEADER.sub(r"\1***", text)

    def values(self, text: str) -> str:
        """Only the configured secret values replaced (what a `PLAIN` record's line needs)."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def line(self, record: logging.LogRecord, text: str) -> str:
        """`text`, the formatted `record`, redacted as much as its record needs."""
        return self.values(text) if getattr(record, PLAIN, False) else self(text)


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value the configuration holds."""
    values = [s.get_secret_value() for s in (settings.jira.api_token, settings.jira.webhook_secret,
                                             settings.secret_key) if s is not None]
    for url in (settings.database_url, settings.redis_url):
        if url and (password := urlsplit(url).password):
            values.append(password)
    return values


class TextFormatter(logging.Formatter):
    """The classic one-line format, with the request id when there is one, redacted."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if rid := getattr(record, "request_id", None):
            line = f"{line} [request_id={rid}]"
        return self.redact.line(record, line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, process, msg, request_id, extras, exc."""

    def __init__(self, redact: Redactor, process: str) -> None:
        super().__init__()
        self.redact, self.process = redact, process

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(), "logger": record.name, "process": self.process,
            "pid": record.process, "msg": record.getMessage()}
        if rid := getattr(record, "request_id", None):
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return self.redact.line(record, json.dumps(entry, default=str, ensure_ascii=False))


def configure_logging(settings: Settings, process: str, level: int = logging.INFO) -> None:
    """Send this process's logs to stderr in the configured format (replacing any earlier handlers)."""
    redact = Redactor(secrets_of(settings))
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter(redact, process) if settings.log.format == "json" else TextFormatter(redact))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # RQ installs its own handler on "rq.worker" unless one exists; route it through ours instead.
    for name in ("rq", "rq.worker", "rq.cron", "gunicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
