"""The soak's checks: the store against JSM's state, each customer action in JSM once, queues settled.

`tests.ops.soak` drives the scenario and calls these at the end; `Tally` is what its actors recorded.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from sandbox.testing import RunningSandbox
from sync.jobs import request_notifications, sweep_outbox
from sync.models import (
    Comment,
    InboundEvent,
    InboxState,
    MailState,
    OutboxAction,
    OutboxState,
    OutgoingMail,
    Ticket,
    utcnow,
)
from sync.notify.delivery import due_mails
from sync.runtime import Runtime
from tests.ops.soak_mail import AgentComment, mail_settled

ATTRIBUTION = " (via the customer portal):\n\n"  # what `sync.outbound.outbox.portal_body` puts before the text
# A push or an e-mail claimed by a worker the chaos killed stays `sending` until its lease (3 and 6
# minutes, since a live worker may still be on it) lets the sweeper hand it back. Once blows and faults
# have stopped, a live worker finishes a claim within seconds, so the end hands back claims older than
# this, as the sweeper does after the lease (same code, shorter wait), and counts them in the report.
ORPHANED_AFTER_SECONDS = 45.0


@dataclass
class Tally:
    """What happened, for the report and the checks."""

    counts: Counter[str] = field(default_factory=Counter)
    comments: list[str] = field(default_factory=list)  # bodies of accepted customer comments
    created: list[str] = field(default_factory=list)  # summaries of accepted customer creations
    agent_comments: list[AgentComment] = field(default_factory=list)  # for the notification check
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.counts[what] += n


def mismatches(runtime: Runtime, jsm: dict[str, Any]) -> list[str]:
    """Every way the store differs from JSM's state (as `assert_store_equals_jsm` in tests/inbound checks)."""
    found, mapping = [], runtime.mapping
    with runtime.sessions() as db:
        tickets = {t.key: t for t in db.scalars(select(Ticket))}
        for key, want in jsm["requests"].items():
            ticket = tickets.get(key)
            if want.get("deleted"):
                if ticket is not None and not ticket.deleted:
                    found.append(f"{key}: deleted in JSM")
                continue
            if ticket is None or ticket.deleted:
                found.append(f"{key}: missing from the store")
                continue
            status = mapping.resolve_status(want["status_id"], want["status"], ticket.jira_status_category).key
            if (ticket.customer_status, ticket.jira_status_name) != (status, want["status"]):
                found.append(f"{key}: status {ticket.jira_status_name!r}, JSM {want['status']!r}")
            priority = mapping.resolve_priority(want["priority_id"], want["priority"]).key
            if (ticket.customer_priority, ticket.jira_priority_name) != (priority, want["priority"]):
                found.append(f"{key}: priority {ticket.jira_priority_name!r}, JSM {want['priority']!r}")
            shown = {c.jira_id: c.body for c in db.scalars(select(Comment).where(
                Comment.ticket_id == ticket.id, Comment.public.is_(True), Comment.deleted.is_(False)))}
            expected = {c["id"]: c["body"] for c in want["public_comments"]}
            other = [(shown[i], expected[i]) for i in set(shown) & set(expected)
                     if not _same_comment(shown[i], expected[i])]
            if set(shown) != set(expected) or other:
                missing = [(i, expected[i][:80], _held_as(db, i)) for i in sorted(set(expected) - set(shown))]
                found.append(f"{key}: public comments differ: missing {missing}, "
                             f"extra {sorted(set(shown) - set(expected))}, other bodies {other[:2]}")
        found += [f"{key}: a ticket JSM never had" for key in set(tickets) - set(jsm["requests"])]
    return found


def _held_as(db: Any, jira_id: str) -> str:
    """What the store holds for a JSM comment it does not show: the first thing to know when one is missing."""
    row = db.scalars(select(Comment).where(Comment.jira_id == jira_id)).first()
    if row is None:
        return "no row"
    return "deleted" if row.deleted else "internal" if not row.public else "shown"


def _same_comment(stored: str, in_jsm: str) -> bool:
    # The store keeps a customer's own words; JSM holds them under the attribution line `portal_body` adds.
    return stored == in_jsm or in_jsm.endswith(f"{ATTRIBUTION}{stored}")


def once_each(sb: RunningSandbox, tally: Tally) -> dict[str, list[str]]:
    """Accepted customer comments and creations found in JSM other than exactly once (by their unique text)."""
    with sb.state.lock:
        bodies = [c.body for r in sb.state.requests.values() for c in r.comments]
        summaries = [r.summary for r in sb.state.requests.values()]
    seen = {text: sum(text in body for body in bodies) for text in tally.comments}
    seen |= {text: sum(text in summary for summary in summaries) for text in tally.created}
    return {"lost": [t for t, n in seen.items() if n == 0], "doubled": [t for t, n in seen.items() if n > 1]}


def backlog(runtime: Runtime) -> dict[str, int]:
    with runtime.sessions() as db:
        outbox = db.scalar(select(func.count()).select_from(OutboxAction).where(
            OutboxAction.state.in_([OutboxState.PENDING, OutboxState.SENDING]))) or 0
        inbox = db.scalar(select(func.count()).select_from(InboundEvent).where(
            InboundEvent.state == InboxState.PENDING)) or 0
    return {"outbox": int(outbox), "inbox": int(inbox)}


def _hand_back_orphans(runtime: Runtime, tally: Tally) -> None:
    """Claims older than ORPHANED_AFTER_SECONDS go back to `pending`, through the sweeper's own code."""
    cutoff = utcnow() - timedelta(seconds=ORPHANED_AFTER_SECONDS)
    with runtime.sessions() as db:
        pushes = db.scalar(select(func.count()).select_from(OutboxAction).where(
            OutboxAction.state == OutboxState.SENDING, OutboxAction.updated_at <= cutoff)) or 0
        mails = db.scalar(select(func.count()).select_from(OutgoingMail).where(
            OutgoingMail.state == MailState.SENDING, OutgoingMail.claimed_at <= cutoff)) or 0
    if pushes:
        sweep_outbox(runtime, lease_seconds=ORPHANED_AFTER_SECONDS)
        tally.add("handed_back_pushes", int(pushes))
    if mails:
        with runtime.sessions() as db, db.begin():
            due_mails(db, ORPHANED_AFTER_SECONDS)  # never handed over: pending again; else uncertain
        request_notifications(runtime.redis, force=True)
        tally.add("handed_back_mails", int(mails))


def queues_settled(runtime: Runtime, tally: Tally) -> bool:
    try:
        _hand_back_orphans(runtime, tally)
        if backlog(runtime) != {"outbox": 0, "inbox": 0}:
            return False
        if mail_settled(runtime):
            return True
        # A drain now rather than at the sweeper's next tick (every 30 s); a drain already queued is kept.
        request_notifications(runtime.redis)
        return False
    except Exception:  # a connection the chaos terminated: the next poll opens a new one
        return False
