"""The soak's mail side: a real SMTP server (aiosmtpd) the install sends to, and the check that every
notification that should go out went out exactly once.

What must go out: each public reply an agent adds in JSM tells the request's reporter (the soak's
customer, who did not write it) in exactly one received e-mail; an internal note is never mailed;
no Message-ID reaches the server twice; every mail recorded as sent was received.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from sync.models import MailState, Notification, NotificationEvent, NotificationKind, NotificationState, OutgoingMail
from sync.runtime import Runtime


@dataclass(frozen=True)
class AgentComment:
    """A comment an agent added in JSM during the soak (its body is unique)."""

    jira_id: str
    key: str
    body: str
    public: bool


class MailSink:
    """An SMTP server on a free loopback port that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        with socket.socket() as probe:  # aiosmtpd's start-up check cannot use port 0: take a free one
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 2.0.0 Ok: queued"

    def texts(self) -> list[tuple[str, str]]:
        """(Message-ID, plain-text part) of every accepted message."""
        with self.lock:
            messages = list(self.messages)
        out = []
        for message in messages:
            part = message.get_body(preferencelist=("plain",))
            out.append((str(message["Message-ID"]), str(part.get_content()) if part is not None else ""))
        return out

    def stop(self) -> None:
        self.controller.stop()


def mail_settled(runtime: Runtime) -> bool:
    """No fact waiting for its recipients, no notification waiting for its mail, no mail left to send."""
    with runtime.sessions() as db:
        facts = db.scalar(select(func.count()).select_from(NotificationEvent).where(
            NotificationEvent.fanned_out.is_(False)))
        waiting = db.scalar(select(func.count()).select_from(Notification).where(
            Notification.state == NotificationState.PENDING))
        unsent = db.scalar(select(func.count()).select_from(OutgoingMail).where(
            OutgoingMail.state.in_((MailState.PENDING, MailState.SENDING))))
    return not facts and not waiting and not unsent


def mail_report(runtime: Runtime, sink: MailSink, comments: list[AgentComment]) -> dict[str, Any]:
    """The counts of the report's `notifications` section; `ok` false on anything missing or doubled."""
    received = sink.texts()
    ids = Counter(message_id for message_id, _ in received)
    with runtime.sessions() as db:
        states = Counter(str(state) for state in db.scalars(select(OutgoingMail.state)))
        sent_ids = set(db.scalars(select(OutgoingMail.message_id).where(OutgoingMail.state == MailState.SENT)))
        events = list(db.scalars(select(NotificationEvent)))
        recipients = Counter(str(state) for state in db.scalars(select(Notification.state)))
    facts = Counter(str((e.details or {}).get("comment_jira_id")) for e in events
                    if e.kind == NotificationKind.COMMENT)
    replies = [c for c in comments if c.public]
    mailed = {c.jira_id: sum(c.body in text for _, text in received) for c in comments}
    report: dict[str, Any] = {
        "support_replies": len(replies), "internal_notes": len(comments) - len(replies),
        "facts_by_kind": dict(sorted(Counter(str(e.kind) for e in events).items())),
        "recipients_by_state": dict(sorted(recipients.items())),
        "mails_received": len(received), "mails_by_state": dict(sorted(states.items())),
        "replies_mailed_once": sum(mailed[c.jira_id] == 1 for c in replies),
        "replies_not_mailed": [f"{c.key} {c.jira_id}" for c in replies if mailed[c.jira_id] == 0],
        "replies_mailed_twice": [f"{c.key} {c.jira_id}" for c in replies if mailed[c.jira_id] > 1],
        "replies_recorded_twice": [f"{c.key} {c.jira_id}" for c in replies if facts[c.jira_id] > 1],
        "internal_notes_mailed": [f"{c.key} {c.jira_id}" for c in comments if not c.public and mailed[c.jira_id]],
        "duplicate_message_ids": sorted(m for m, n in ids.items() if n > 1),
        "sent_not_received": sorted(sent_ids - set(ids)),
    }
    problems = [k for k in ("replies_not_mailed", "replies_mailed_twice", "replies_recorded_twice",
                            "internal_notes_mailed", "duplicate_message_ids", "sent_not_received") if report[k]]
    report["ok"] = not problems and not states.get(MailState.PENDING) and not states.get(MailState.SENDING)
    return report
