"""Which comments of a search hit a reconcile applies, hides as deleted in JSM, or shows again.

A search page is a snapshot taken before the store is read. A comment stored in between (its webhook,
or our own push, landed while the page was on its way) is missing from the page yet present in JSM,
so the page alone never proves a comment deleted: a comment the page lacks is hidden only when JSM's
own listing, asked after the store was read, lacks it too. The same listing repairs the opposite
mistake: a comment stored as deleted that JSM lists after the store was read is shown again (JSM
neither restores a deleted comment nor reuses its id, so the deletion we stored was wrong). The
listing costs one call for an issue whose page and store disagree, and none otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.inbound.sql import one_of
from sync.jsm.errors import JsmPermanentError
from sync.jsm.gateway import JsmGateway
from sync.jsm.snapshots import CommentSnapshot
from sync.jsm.values import SearchHit
from sync.models import Comment, Ticket


@dataclass
class StoredComments:
    """The store's comments of a page's tickets, read before JSM is asked anything about them."""

    live: dict[str, tuple[datetime, bool]] = field(default_factory=dict)  # JSM id → (updated, public)
    live_by_ticket: dict[str, set[str]] = field(default_factory=dict)  # ticket's JSM id → comment ids
    deleted_by_ticket: dict[str, set[str]] = field(default_factory=dict)

    def is_current(self, c: CommentSnapshot) -> bool:
        """Whether the store holds this comment, not deleted, at least as new as the snapshot."""
        stored = self.live.get(c.jira_id)
        return stored is not None and c.updated is not None and stored[0] >= c.updated


@dataclass(frozen=True)
class HitComments:
    """A hit's comments with visibility settled, and the deletions JSM confirmed either way."""

    comments: list[CommentSnapshot]
    gone: frozenset[str] = frozenset()  # stored, and missing from JSM after the store was read
    restored: frozenset[str] = frozenset()  # stored as deleted, yet listed by JSM after the store was read


def read_stored(session: Session, ticket_ids: Iterable[str]) -> StoredComments:
    """Every JSM-linked comment of these tickets (pending portal comments have no JSM id yet)."""
    stored = StoredComments()
    for tid, cid, updated, public, deleted in session.execute(
            select(Ticket.jira_id, Comment.jira_id, Comment.updated_at, Comment.public, Comment.deleted)
            .join(Ticket).where(one_of(session, Ticket.jira_id, ticket_ids), Comment.jira_id.is_not(None))):
        if cid is None:  # excluded by the query; narrows the type
            continue
        if deleted:
            stored.deleted_by_ticket.setdefault(tid, set()).add(cid)
        else:
            stored.live[cid] = (updated, bool(public))
            stored.live_by_ticket.setdefault(tid, set()).add(cid)
    return stored


def _listing(gw: JsmGateway, issue_key: str) -> dict[str, CommentSnapshot] | None:
    """Every comment JSM has on the request now (internal ones too); None when it cannot say (404)."""
    try:
        return {c.jira_id: c for c in gw.list_comments(issue_key, include_internal=True)}
    except JsmPermanentError as exc:
        if exc.status != 404:
            raise
        return None  # deleted since the search, or not a request: decide nothing about its comments


def _with_public(c: CommentSnapshot, public: bool) -> CommentSnapshot:
    return CommentSnapshot(c.jira_id, c.author, c.body, c.created, c.updated, public)


def _known_visibility(hit: SearchHit, stored: StoredComments) -> list[CommentSnapshot]:
    # A comment we already hold unchanged keeps the visibility we stored; only new or edited ones
    # without a flag (Data Center search results carry no `jsdPublic`) need the listing for theirs.
    return [_with_public(c, stored.live[c.jira_id][1]) if c.public is None and stored.is_current(c) else c
            for c in hit.comments]


def _asks_visibility(hit: SearchHit, comments: list[CommentSnapshot]) -> bool:
    """Whether the listing is needed for the comments themselves (a truncated list, or an unknown flag)."""
    return not hit.comments_complete or any(c.public is None for c in comments)


def _disagreement(hit: SearchHit, stored: StoredComments, ids: set[str]) -> tuple[set[str], set[str]]:
    """Stored live comments the hit lacks, and stored deleted ones it has."""
    return (stored.live_by_ticket.get(hit.issue.jira_id, set()) - ids,
            stored.deleted_by_ticket.get(hit.issue.jira_id, set()) & ids)


def needs_listing(hit: SearchHit, stored: StoredComments) -> bool:
    """Whether `compare` will ask JSM for the hit's comment listing (page and store disagree, or a flag is unknown).

    Lets a page that needs no call be read and written in one transaction.
    """
    comments = _known_visibility(hit, stored)
    if _asks_visibility(hit, comments):
        return True
    missing, deleted_yet_listed = _disagreement(hit, stored, {c.jira_id for c in comments})
    return bool(missing or deleted_yet_listed)


def compare(gw: JsmGateway, hit: SearchHit, stored: StoredComments) -> HitComments:
    """The hit's comments to apply, and which stored ones JSM confirms deleted or not deleted.

    Call only after `read_stored`: a listing asked here is newer than what the store was seen to hold.
    """
    comments = _known_visibility(hit, stored)
    listed: dict[str, CommentSnapshot] | None = None
    asked = _asks_visibility(hit, comments)
    if asked:
        listed = _listing(gw, hit.issue.key)
        found = listed or {}
        # Missing from the listing (deleted since, or not visible) means never public.
        comments = [c if c.public is not None else _with_public(c, bool((sd := found.get(c.jira_id)) and sd.public))
                    for c in comments]
        seen = {c.jira_id for c in comments}
        comments.extend(c for cid, c in found.items() if cid not in seen)
    missing, deleted_yet_listed = _disagreement(hit, stored, {c.jira_id for c in comments})
    if not missing and not deleted_yet_listed:
        return HitComments(comments)
    if not asked:
        listed = _listing(gw, hit.issue.key)
    if listed is None:
        return HitComments(comments)
    return HitComments(comments, gone=frozenset(missing - set(listed)),
                       restored=frozenset(deleted_yet_listed & set(listed)))
