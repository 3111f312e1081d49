"""Comments a reconcile hides as deleted in JSM, and never hides (or shows again) when JSM still has them.

The search page is older than the store read that follows it: a comment whose webhook lands in
between is missing from the page yet present in JSM. The chaos soak once lost such a public
comment for good (stored as deleted, and a deleted comment never came back).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, update

from sandbox.testing import RunningSandbox
from sync.inbound.reconcile import reconcile
from sync.inbound.upsert import apply_comment
from sync.jsm.gateway import JsmGateway
from sync.jsm.values import SearchPage
from sync.models import Comment, NotificationEvent, Ticket
from sync.runtime import Runtime
from tests.reconcile.conftest import assert_mirrors, control, gateway_for, populate


def _row(runtime: Runtime, jira_id: str) -> Comment:
    with runtime.sessions() as session:
        return session.scalars(select(Comment).where(Comment.jira_id == jira_id)).one()


def _events(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(NotificationEvent)) or 0


def _comment_lists(gw: JsmGateway) -> int:
    return gw.calls.get("sd.comments", 0)


class WebhookDuringSearch:
    """Between JSM answering the search and the reconcile reading the store, an agent replies in JSM
    and that reply's webhook is applied (through the one write path the inbox uses)."""

    def __init__(self, runtime: Runtime, site: RunningSandbox, key: str) -> None:
        self.runtime, self.site, self.key, self.comment_id = runtime, site, key, ""

    def __call__(self, gw: JsmGateway, pages: Iterator[SearchPage]) -> Iterator[SearchPage]:
        for page in pages:
            if not self.comment_id and any(h.issue.key == self.key for h in page.hits):
                self.comment_id = control(self.site, "POST", f"/requests/{self.key}/comment",
                                          {"body": "answered while you searched", "public": True})["id"]
                snapshot = next(c for c in gateway_for(self.runtime).list_comments(self.key)
                                if c.jira_id == self.comment_id)
                with self.runtime.sessions() as session, session.begin():
                    issue_id = session.scalars(select(Ticket.jira_id).where(Ticket.key == self.key)).one()
                    apply_comment(session, issue_id, snapshot)
            yield page


def _racing_gateway(runtime: Runtime, race: WebhookDuringSearch) -> JsmGateway:
    gw = gateway_for(runtime)
    search = gw.search_pages

    def pages(jql: str, page_size: int = 100) -> Iterator[SearchPage]:
        return race(gw, search(jql, page_size))

    gw.search_pages = pages  # type: ignore[method-assign]
    return gw


def test_a_comment_stored_while_the_search_was_answered_is_not_deleted(runtime: Runtime, site: Any) -> None:
    key = populate(site, 1)[0]
    reconcile(runtime, full=True, gateway=gateway_for(runtime))
    race = WebhookDuringSearch(runtime, site, key)
    gw = _racing_gateway(runtime, race)
    lists_before = _comment_lists(gw)
    result = reconcile(runtime, full=True, gateway=gw)
    assert race.comment_id, "the page with the request was never searched"
    row = _row(runtime, race.comment_id)
    assert (row.deleted, row.public) == (False, True)
    # JSM was asked once, for that request only, before anything was hidden; nothing was.
    assert _comment_lists(gw) - lists_before == 1 and result.comments == 0
    assert_mirrors(runtime, site)


def test_a_comment_wrongly_stored_as_deleted_comes_back_without_a_second_notification(
        runtime: Runtime, site: Any) -> None:
    key = populate(site, 1)[0]
    reconcile(runtime, full=True, gateway=gateway_for(runtime))
    reply = control(site, "POST", f"/requests/{key}/comment", {"body": "a support reply", "public": True})["id"]
    reconcile(runtime, full=False, gateway=gateway_for(runtime))
    told = _events(runtime)
    with runtime.sessions() as session, session.begin():  # what the race above used to leave behind
        session.execute(update(Comment).where(Comment.jira_id == reply).values(deleted=True))

    reconcile(runtime, full=True, gateway=gateway_for(runtime))
    row = _row(runtime, reply)
    assert (row.deleted, row.public, row.body) == (False, True, "a support reply")
    assert _events(runtime) == told, "the customer was told of this reply when it first arrived"
    assert_mirrors(runtime, site)
    gw = gateway_for(runtime)
    reconcile(runtime, full=True, gateway=gw)
    assert _comment_lists(gw) == 0, "once store and JSM agree, no comment listing is asked for"


def test_a_comment_deleted_in_jsm_is_hidden_and_a_late_event_does_not_bring_it_back(
        runtime: Runtime, site: Any) -> None:
    key = populate(site, 1)[0]
    reconcile(runtime, full=True, gateway=gateway_for(runtime))
    req = site.state.get(key)
    gone = next(c for c in req.comments if c.public)
    snapshot = next(c for c in gateway_for(runtime).list_comments(key) if c.jira_id == str(gone.id))
    site.state.delete_comment(req, gone, site.state.agent)

    assert reconcile(runtime, full=False, gateway=gateway_for(runtime)).comments == 1
    assert _row(runtime, str(gone.id)).deleted
    with runtime.sessions() as session, session.begin():  # its `comment_created`, delivered late
        assert not apply_comment(session, str(req.id), snapshot).changed
    assert _row(runtime, str(gone.id)).deleted
    assert_mirrors(runtime, site)
