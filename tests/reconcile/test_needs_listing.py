"""`needs_listing`: a page whose comments agree with the store asks JSM nothing (and is written in the
transaction that read it); any disagreement, truncation or unknown visibility asks for the listing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sync.inbound.reconcile_comments import StoredComments, needs_listing
from sync.jsm.snapshots import CommentSnapshot, IssueSnapshot
from sync.jsm.values import SearchHit

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


def _issue() -> IssueSnapshot:
    return IssueSnapshot("100", "SUP-1", "SUP", "", None, None, None, None, None, None, None, None, None,
                         None, None, None, None, None)


def _comment(cid: str, public: bool | None, updated: datetime = T0) -> CommentSnapshot:
    return CommentSnapshot(cid, None, "body", T0, updated, public)


def _stored(live: dict[str, tuple[datetime, bool]], deleted: set[str] = frozenset()) -> StoredComments:
    return StoredComments(live=dict(live), live_by_ticket={"100": set(live)} if live else {},
                          deleted_by_ticket={"100": set(deleted)} if deleted else {})


CASES = [
    # (what, comments on the page, complete, stored live, stored deleted, asks)
    ("no comments anywhere", (), True, {}, set(), False),
    ("a new comment with its flag (Cloud)", (_comment("1", True),), True, {}, set(), False),
    ("a stored comment, unchanged", (_comment("1", True),), True, {"1": (T0, True)}, set(), False),
    ("a stored comment without a flag (Data Center), unchanged: the stored flag stands",
     (_comment("1", None),), True, {"1": (T0, True)}, set(), False),
    ("a new comment without a flag (Data Center)", (_comment("1", None),), True, {}, set(), True),
    ("an edited comment without a flag", (_comment("1", None, T1),), True, {"1": (T0, False)}, set(), True),
    ("the search truncated the comments", (_comment("1", True),), False, {"1": (T0, True)}, set(), True),
    ("a stored comment missing from the page", (), True, {"1": (T0, True)}, set(), True),
    ("a comment stored as deleted is on the page", (_comment("1", True),), True, {}, {"1"}, True),
    ("a comment stored as deleted, still gone", (), True, {}, {"1"}, False),
]


@pytest.mark.parametrize(("what", "comments", "complete", "live", "deleted", "asks"), CASES,
                         ids=[case[0] for case in CASES])
def test_needs_listing(what, comments, complete, live, deleted, asks):
    hit = SearchHit(_issue(), tuple(comments), comments_complete=complete)
    assert needs_listing(hit, _stored(live, deleted)) is asks
