"""Acting on the due rules: each firing once, in its own transaction, through the outbox.

Exactly once: the `PolicyEvent` row (unique per rule, ticket and clock start) and the outbox action it
causes commit together. A run killed before the commit leaves nothing (the next run does it); after the
commit, the next run finds the event and does nothing, and the outbox pushes the action (the sweeper
re-enqueues it if this process died before asking for a push). A reminder is no JSM action: its
notification fact (`sync.notify.enqueue_reminder`) commits with the event, and the notification drain
mails it. Several runs at once are safe: the unique
constraint lets one of them record each firing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sync.models import PolicyEvent, Ticket
from sync.notify import enqueue_reminder
from sync.outbound.outbox import OutboxConflict, submit_automatic
from sync.policies.evaluate import Firing, evaluate

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """What a run found due and what it did with each firing ("done", "skipped: reason")."""

    firings: tuple[Firing, ...]
    outcomes: tuple[str, ...]

    @property
    def acted(self) -> list[Firing]:
        """The firings recorded by this run."""
        return [f for f, o in zip(self.firings, self.outcomes, strict=True) if o == "done"]

    @property
    def outbox_actions(self) -> int:
        """How many JSM actions this run put in the outbox."""
        return sum(1 for f in self.acted if f.action != "remind")


def due(runtime: Runtime, now: datetime) -> list[Firing]:
    """What a run at `now` would do (the dry run)."""
    with runtime.sessions() as session:
        return evaluate(session, runtime.mapping, now, runtime.settings.portal.default_locale)


def _act(runtime: Runtime, firing: Firing, now: datetime) -> str:
    rule = next(r for r in runtime.mapping.policies.rules if r.name == firing.rule)
    try:
        with runtime.sessions() as session, session.begin():
            ticket = session.get(Ticket, firing.ticket_id, with_for_update=True)
            if ticket is None or ticket.deleted or ticket.customer_status != rule.when:
                return "skipped: the request changed meanwhile"
            if session.scalars(select(PolicyEvent.id).where(
                    PolicyEvent.rule == firing.rule, PolicyEvent.ticket_id == firing.ticket_id,
                    PolicyEvent.anchor == firing.start.anchor)).first() is not None:
                return "skipped: already done"
            event = PolicyEvent(rule=firing.rule, action=firing.action, ticket_id=firing.ticket_id,
                                anchor=firing.start.anchor, clock_started_at=firing.start.at, fired_at=now,
                                locale=firing.locale)
            if firing.action != "remind":
                key = f"{firing.rule}:{firing.ticket_id}:{firing.start.anchor}"
                submitted = submit_automatic(session, firing.action, ticket, rule.comment(firing.locale), key)
                event.outbox_action_id = submitted.action.id
            else:
                # Each recipient reads the reminder in their own language; the firing's locale (the
                # reporter's) is always among them, so the customer's text is never a fallback.
                locales = {"en", "ru", firing.locale}
                enqueue_reminder(session, ticket, firing.rule,
                                 message={loc: rule.comment(loc) for loc in sorted(locales)})
            session.add(event)
    except IntegrityError:
        return "skipped: already done"  # another run recorded it first
    except OutboxConflict as exc:
        return f"skipped: {exc}"  # the customer's own status change goes first; the next run decides again
    return "done"


def run(runtime: Runtime, now: datetime) -> RunResult:
    """Evaluate the rules at `now` and record each due one once; the caller asks for the push
    (`sync.jobs.run_policies`), as every outbox writer does after its commit."""
    firings = tuple(due(runtime, now))
    outcomes = tuple(_act(runtime, f, now) for f in firings)
    result = RunResult(firings, outcomes)
    for firing, outcome in zip(firings, outcomes, strict=True):
        log.info("policy %s on %s (%s): %s", firing.rule, firing.key, firing.action, outcome)
    return result
