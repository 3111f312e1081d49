"""Fixtures of the notification tests: a real SMTP server (aiosmtpd) and the outbox tests' install."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from sync.models import Notification, OutgoingMail, utcnow
from tests.outbound.conftest import Env, make_env  # noqa: F401  (fixtures shared with the outbox tests)


@dataclass
class Inbox:
    """What the SMTP server accepted, and a switch to make it refuse for a while."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse_with: str | None = None
    on_accept: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.inbox.refuse_with:
            return self.inbox.refuse_with
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.inbox.lock:
            self.inbox.messages.append(parsed)  # type: ignore[arg-type]
        if self.inbox.on_accept:
            self.inbox.on_accept()
        return "250 2.0.0 Ok: queued"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, Controller]]:
    """An SMTP server on a free local port for one test."""
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd's start-up check cannot use port 0: take a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(_Handler(inbox), hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, controller
    if getattr(controller, "_thread", None) is not None:  # a test may have stopped it already
        controller.stop()


def smtp_url(controller: Controller) -> str:
    return f"smtp://127.0.0.1:{controller.port}"


def mail_env(factory: Any, database_url: str, controller: Controller, coalesce: int = 0) -> Env:
    """An install whose mail goes to the test's SMTP server."""
    env = factory(database_url)
    settings = env.settings.model_copy(update={
        "mail": env.settings.mail.model_copy(update={"smtp_url": _secret(smtp_url(controller))}),
        "notifications": env.settings.notifications.model_copy(update={"coalesce_seconds": coalesce}),
        "portal": env.settings.portal.model_copy(update={"base_url": "http://portal.test"})})
    env.runtime.settings = settings
    env.settings = settings
    return env


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def notify(env: Env, *, later: bool = False) -> dict[str, int]:
    """Run the notification drain in this process; `later`: as if every coalescing window and backoff had passed."""
    from sync.jobs import drain_notifications

    if later:
        drain_notifications(env.runtime)  # fan the new facts out first, then let their windows pass
        with env.runtime.sessions() as db, db.begin():
            db.execute(update(Notification).values(not_before=utcnow() - timedelta(days=1)))
            db.execute(update(OutgoingMail).values(next_attempt_at=None))
    return drain_notifications(env.runtime)
