"""Pushing one outbox action to JSM: claim it, perform it once, record the outcome.

Exactly once in effect: a claim (`pending` → `sending`, attempts + 1) is committed before any call
to JSM, so a push that finds `attempts > 1` knows an earlier one may have reached JSM and looks it up
first (see `sync.outbound.handlers`). Transient failures (timeouts, 5xx, 429) go back to `pending`,
retried at once for short waits (Retry-After 0 included) and otherwise at `next_attempt_at` by the
sweeper, up to MAX_ATTEMPTS; permanent ones (400/403/404/409) fail with the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from sync.inbound.upsert import apply_issue
from sync.jsm.errors import JsmPermanentError, JsmTransientError
from sync.jsm.gateway import gateway_for
from sync.logs import request_id, request_id_restored
from sync.models import Comment, OutboxAction, OutboxState, Ticket, User, utcnow
from sync.notify.facts import Actor
from sync.outbound.handlers import HANDLERS, Context, Outcome
from sync.outbound.messages import code_for_status
from sync.redis_conn import get_bytes

if TYPE_CHECKING:
    from sync.jsm.gateway import JsmGateway
    from sync.runtime import Runtime

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # with the backoff below: about an hour of JSM outage before an action fails
INLINE_RETRIES = 3  # short waits are taken inside the job rather than a sweeper round-trip
INLINE_MAX_WAIT = 5.0
BACKOFF_CAP = 600.0
ACCOUNT_KEY = "companion:jsm:myself:"


def backoff(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next try: JSM's Retry-After when given (0 included), else jittered 2^n."""
    if retry_after is not None:
        return max(0.0, retry_after)
    return min(BACKOFF_CAP, 0.5 * 2.0 ** max(0, attempts - 1)) * (0.5 + random.random())


def our_account_id(runtime: Runtime, gw: JsmGateway) -> str | None:
    """Our JSM account id (recognises echoes), cached in Redis: each RQ job runs in a fresh fork."""
    key = ACCOUNT_KEY + hashlib.sha1(gw.t.site_url.encode()).hexdigest()[:16]
    try:
        cached = get_bytes(runtime.redis, key)
        if cached:
            return cached.decode()
    except Exception:  # Redis trouble must not stop a push; ask JSM instead
        cached = None
    account = gw.myself().account_id
    if account:
        with contextlib.suppress(Exception):
            runtime.redis.set(key, account, ex=86_400)
    return account


def _claim(runtime: Runtime, action_id: int, actor: str | None) -> Context | None:
    with runtime.sessions() as session, session.begin():
        action = session.scalars(select(OutboxAction).where(OutboxAction.id == action_id)
                                 .with_for_update(skip_locked=True)).first()
        now = utcnow()
        if action is None or action.state != OutboxState.PENDING \
                or (action.next_attempt_at and action.next_attempt_at > now):
            return None
        if action.request_id:  # this push logs under the id of the request that accepted it
            request_id.set(action.request_id)
        action.state, action.attempts, action.updated_at = OutboxState.SENDING, action.attempts + 1, now
        action.payload = {**action.payload, "jsm_actor": actor}  # a new dict: JSON columns track assignment
        user = session.get(User, action.user_id) if action.user_id else None
        ticket = session.get(Ticket, action.ticket_id) if action.ticket_id else None
        return Context(action_id=action.id, uuid=action.uuid, kind=action.kind, payload=dict(action.payload),
                       attempts=action.attempts, user_email=user.email if user else None,
                       user_account_id=user.jira_account_id if user else None,
                       user_name=(user.name or user.email) if user else None,
                       ticket_key=ticket.key if ticket else None, ticket_jira_id=ticket.jira_id if ticket else None,
                       project_key=ticket.project_key if ticket else action.payload.get("project_key"))


def _update(runtime: Runtime, action_id: int, change: Callable[[Any, OutboxAction], None]) -> None:
    with runtime.sessions() as session, session.begin():
        action = session.get(OutboxAction, action_id, with_for_update=True)
        if action is not None:
            change(session, action)


def _finish(runtime: Runtime, ctx: Context, outcome: Outcome) -> None:
    mapping = runtime.mapping

    def done(session: Any, action: OutboxAction) -> None:
        if outcome.issue is not None:
            # What we last wrote, applied through the one write path: the webhooks of this write then
            # carry nothing newer and change nothing.
            apply_issue(session, outcome.issue, mapping, actor=Actor(user_id=action.user_id))
            ticket = session.scalars(select(Ticket).where(Ticket.jira_id == outcome.issue.jira_id)).first()
            if ticket is not None and action.ticket_id is None:
                action.ticket_id = ticket.id
        if outcome.comment_id is not None:
            _link_comment(session, action.id, outcome.comment_id)
        action.state, action.error, action.next_attempt_at = OutboxState.DONE, None, None
        action.result_key = outcome.result_key or action.result_key
        action.jira_response = outcome.response
        action.updated_at = utcnow()

    _update(runtime, ctx.action_id, done)


def _link_comment(session: Any, action_id: int, jira_comment_id: str) -> None:
    local = session.scalars(select(Comment).where(Comment.outbox_action_id == action_id).with_for_update()).first()
    if local is None or local.jira_id == jira_comment_id:
        return
    other = session.scalars(select(Comment).where(Comment.jira_id == jira_comment_id).with_for_update()).first()
    if other is not None and other.id != local.id:
        # A copy stored from a webhook before we knew the id (not matched as ours): ours is the original.
        session.delete(other)
        session.flush()
    local.jira_id = jira_comment_id


def _fail(runtime: Runtime, ctx: Context, code: str, detail: str, response: str | None) -> None:
    def fail(session: Any, action: OutboxAction) -> None:
        action.state, action.error, action.next_attempt_at = OutboxState.FAILED, f"{code}: {detail}"[:2000], None
        action.jira_response = response
        action.updated_at = utcnow()

    _update(runtime, ctx.action_id, fail)


def _later(runtime: Runtime, ctx: Context, error: JsmTransientError, wait: float | None) -> None:
    def later(session: Any, action: OutboxAction) -> None:
        action.state, action.error = OutboxState.PENDING, None
        action.next_attempt_at = utcnow() + timedelta(seconds=wait) if wait else None
        action.jira_response = str(error)
        action.updated_at = utcnow()

    _update(runtime, ctx.action_id, later)


def push(runtime: Runtime, action_id: int, gw: JsmGateway | None = None,
         sleep: Callable[[float], None] = time.sleep) -> str:
    """Push one action; returns its state afterwards (or "skipped" when it was not ours to take)."""
    with request_id_restored():  # the claimed action's request id is bound only for this push
        gw = gw or gateway_for(runtime)
        for round_ in range(INLINE_RETRIES + 1):
            try:
                actor = our_account_id(runtime, gw)
            except JsmTransientError:
                actor = None  # the handler's own call will meet the same outage and schedule a retry
            ctx = _claim(runtime, action_id, actor)
            if ctx is None:
                return "skipped"
            try:
                outcome = HANDLERS[ctx.kind](ctx, gw, runtime)
            except JsmTransientError as exc:
                if ctx.attempts >= MAX_ATTEMPTS:
                    _fail(runtime, ctx, "unavailable", f"gave up after {ctx.attempts} attempts: {exc}", str(exc))
                    return OutboxState.FAILED
                wait = backoff(ctx.attempts, exc.retry_after)
                log.info("outbox %s (%s): %s; next try in %.1f s", action_id, ctx.kind, exc, wait)
                if wait <= INLINE_MAX_WAIT and round_ < INLINE_RETRIES:
                    _later(runtime, ctx, exc, None)
                    if wait > 0:
                        sleep(wait)
                    continue
                _later(runtime, ctx, exc, wait)
                return OutboxState.PENDING
            except JsmPermanentError as exc:
                code = getattr(exc, "code", None) or code_for_status(exc.status, exc.messages)
                _fail(runtime, ctx, code, str(exc), "; ".join(exc.messages) or str(exc))
                return OutboxState.FAILED
            except LookupError as exc:  # the action lacks what its kind needs (a ticket, a desk): retrying cannot help
                _fail(runtime, ctx, "error", str(exc), str(exc))
                return OutboxState.FAILED
            _finish(runtime, ctx, outcome)
            log.info("outbox %s (%s) confirmed by JSM", action_id, ctx.kind,
                     extra={"outbox_action": action_id, "ticket": ctx.ticket_key})
            return OutboxState.DONE
        return OutboxState.PENDING
