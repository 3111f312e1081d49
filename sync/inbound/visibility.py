"""Settle the visibility of webhook comments that do not carry it (Data Center: no `jsdPublic`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select

from sync.inbound.upsert import Deferred
from sync.jsm.errors import JsmPermanentError, JsmTransientError
from sync.jsm.events import CommentEvent, Event, IssueEvent
from sync.jsm.gateway import JsmGateway, gateway_for
from sync.jsm.snapshots import CommentSnapshot
from sync.models import Comment

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sync.runtime import Runtime

# The inbox asks JSM with few in-job retries: a deferred inbox row is retried later anyway.
TUNING = "inbox"


def _settle(gw: JsmGateway, issue_id: str, comment: CommentSnapshot) -> CommentSnapshot:
    try:
        public = gw.comment_visibility(issue_id, comment.jira_id)
    except JsmTransientError as exc:
        # Retried by the inbox (and reconcile repairs it anyway); never guessed as public.
        raise Deferred(f"comment {comment.jira_id} visibility unknown: {exc}") from exc
    except JsmPermanentError:
        public = False
    return dataclasses.replace(comment, public=public)


def _known(session: Session | None, comment_id: str) -> bool:
    # A comment already in the store had its visibility settled by an earlier event (DC sends both
    # comment_created and issue_commented for one comment): do not ask JSM twice.
    if session is None:
        return False
    return session.scalar(select(Comment.id).where(Comment.jira_id == comment_id)) is not None


def with_comment_visibility(event: Event, runtime: Runtime, session: Session | None = None,
                            known: Callable[[str], bool] | None = None) -> Event:
    """The event with any comment's `public=None` replaced by what JSM says (one call per new comment).

    `known(comment_id)`, when given, replaces the query for "is this comment stored" (an inbox batch
    has its comments in memory, including those it created).
    """
    if known is None:
        def known(comment_id: str) -> bool:
            return _known(session, comment_id)

    if isinstance(event, CommentEvent) and event.kind != "deleted" and event.comment.public is None \
            and not known(event.comment.jira_id):
        gw = gateway_for(runtime, TUNING)
        return dataclasses.replace(event, comment=_settle(gw, event.issue_jira_id, event.comment))
    if isinstance(event, IssueEvent) and event.comment is not None and event.comment.public is None \
            and event.kind != "deleted" and not known(event.comment.jira_id):
        gw = gateway_for(runtime, TUNING)
        try:
            return dataclasses.replace(event, comment=_settle(gw, event.issue.jira_id, event.comment))
        except Deferred:
            # The issue part must not wait for JSM: apply it now and leave the comment to its own
            # comment_created event (deferred until JSM answers) and to reconciliation.
            return dataclasses.replace(event, comment=None)
    return event
