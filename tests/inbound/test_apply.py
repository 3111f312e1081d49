"""The one write path under redelivery, reordering, tombstones, visibility and organisations (SQLite + PG)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mappings import load_default
from sync.db import make_engine, make_session_factory
from sync.inbound.upsert import Deferred, apply_comment_event, apply_issue_event
from sync.jsm.events import CommentEvent, IssueEvent, normalise
from sync.models import Comment, Organization, StatusHistory, Ticket, TicketParticipant, User
from tests.helpers import issue_payload

MAPPING = load_default()


@pytest.fixture
def db(any_database_url: str) -> Iterator[Session]:
    """A session on an empty database; each `apply` below commits like one inbox row."""
    engine = make_engine(any_database_url)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


def apply(db: Session, body: dict[str, Any]) -> str:
    """Normalise and apply one webhook body in its own transaction; returns the result's reason."""
    event = normalise(body)
    with db.begin():
        if isinstance(event, IssueEvent):
            return apply_issue_event(db, event, MAPPING).reason
        assert isinstance(event, CommentEvent)
        return apply_comment_event(db, event).reason


def status_change(changelog_id: str, frm: str, to: str, updated: str, **kw: Any) -> dict[str, Any]:
    """An issue_updated webhook whose changelog moves the status from `frm` to `to`."""
    category = {"Resolved": "done", "Closed": "done"}.get(to, "indeterminate" if to != "Waiting for Support"
                                                          else "new")
    body = issue_payload(status=to, status_id=f"id-{to}", category=category, updated=updated,
                         changelog_id=changelog_id, **kw)
    body["changelog"]["items"] = [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                                   "from": f"id-{frm}", "fromString": frm, "to": f"id-{to}", "toString": to}]
    return body


def history(db: Session) -> list[tuple[str, str]]:
    rows = db.scalars(select(StatusHistory).order_by(StatusHistory.at)).all()
    db.rollback()
    return [(r.customer_status, r.at.strftime("%H:%M")) for r in rows]


T0, T1, T2 = "2026-01-01T10:00:00.000+0000", "2026-01-01T11:00:00.000+0000", "2026-01-01T12:00:00.000+0000"
CREATED = issue_payload(updated=T0, event="jira:issue_created", changelog_id="100")
TO_PROGRESS = status_change("101", "Waiting for Support", "In Progress", T1)
TO_RESOLVED = status_change("102", "In Progress", "Resolved", T2)


def test_in_order_changes_give_one_history_entry_each_and_redelivery_adds_none(db: Session) -> None:
    for body in (CREATED, TO_PROGRESS, TO_RESOLVED, TO_PROGRESS, TO_RESOLVED, CREATED):
        apply(db, body)
    assert history(db) == [("open", "10:00"), ("in_progress", "11:00"), ("resolved", "12:00")]


def test_reordered_changes_converge_and_keep_the_whole_history(db: Session) -> None:
    assert apply(db, TO_RESOLVED) == "created"
    assert apply(db, CREATED) == "older than the stored ticket"
    assert apply(db, TO_PROGRESS) == "older than the stored ticket"
    apply(db, TO_PROGRESS)  # and again, redelivered late
    ticket = db.scalars(select(Ticket)).one()
    assert (ticket.customer_status, ticket.jira_status_name) == ("resolved", "Resolved")
    # The first sighting (resolved at 12:00) is the only entry without a changelog; the late
    # in-progress change slots in before it.
    assert history(db) == [("in_progress", "11:00"), ("resolved", "12:00")]


def test_late_changelog_moves_a_first_sighting_to_when_the_change_happened(db: Session) -> None:
    unlogged = issue_payload(status="In Progress", status_id="id-In Progress", category="indeterminate",
                             updated="2026-01-01T11:30:00.000+0000")
    apply(db, unlogged)  # e.g. reconcile found it in progress, after the change really happened
    apply(db, TO_PROGRESS)  # the webhook of that change arrives late
    assert history(db) == [("in_progress", "11:00")]


def test_agent_only_moves_between_statuses_of_one_customer_status_record_nothing(db: Session) -> None:
    apply(db, CREATED)
    apply(db, status_change("101", "Waiting for Support", "In Progress", T1))
    apply(db, status_change("102", "In Progress", "Analyse", T2))  # both are in_progress for customers
    late = status_change("103", "Analyse", "In Progress", "2026-01-01T11:30:00.000+0000")
    apply(db, late)
    assert history(db) == [("open", "10:00"), ("in_progress", "11:00")]


def test_a_change_seen_by_reconcile_and_then_by_its_webhook_is_one_entry(db: Session) -> None:
    apply(db, CREATED)
    without_changelog = dict(TO_PROGRESS)
    without_changelog.pop("changelog")
    apply(db, without_changelog)
    apply(db, TO_PROGRESS)
    assert history(db) == [("open", "10:00"), ("in_progress", "11:00")]


def comment(kind: str, cid: str, updated: str, public: bool | None, body: str = "hello") -> dict[str, Any]:
    raw: dict[str, Any] = {"self": f"https://x/rest/api/2/issue/10001/comment/{cid}", "id": cid, "body": body,
                           "author": {"accountId": "agent-1", "displayName": "Agent"},
                           "created": T0, "updated": updated}
    if public is not None:
        raw["jsdPublic"] = public
    return {"timestamp": 1, "webhookEvent": kind, "comment": raw}


def test_comment_before_its_issue_is_deferred(db: Session) -> None:
    with pytest.raises(Deferred):
        apply(db, comment("comment_created", "1", T0, True))


def test_event_without_visibility_keeps_what_jsm_said(db: Session) -> None:
    apply(db, CREATED)
    apply(db, comment("comment_created", "1", T0, True))
    commented = issue_payload(updated=T0)
    commented["comment"] = comment("comment_created", "1", T0, None)["comment"]  # DC issue_commented
    apply(db, commented)
    assert db.scalars(select(Comment.public)).one() is True
    db.rollback()
    apply(db, comment("comment_created", "2", T0, None))  # unknown and new: hidden until JSM says
    assert db.scalars(select(Comment.public).where(Comment.jira_id == "2")).one() is False


def test_comment_tombstone_wins_over_late_create_and_edit(db: Session) -> None:
    apply(db, CREATED)
    assert apply(db, comment("comment_deleted", "1", T0, True)) == "comment"
    assert apply(db, comment("comment_created", "1", T0, True)) == "comment was deleted"
    assert apply(db, comment("comment_updated", "1", T1, True, "edited")) == "comment was deleted"
    assert db.scalars(select(Comment.deleted)).one() is True


def test_older_comment_edit_does_not_overwrite_newer(db: Session) -> None:
    apply(db, CREATED)
    apply(db, comment("comment_updated", "1", T2, True, "newest"))
    assert apply(db, comment("comment_updated", "1", T1, True, "older")) == "older than the stored comment"
    assert db.scalars(select(Comment.body)).one() == "newest"


def test_issue_deleted_before_created_leaves_a_tombstone(db: Session) -> None:
    deleted = issue_payload(updated=T1, event="jira:issue_deleted")
    assert apply(db, deleted) == "created"
    assert apply(db, CREATED) == "ticket was deleted in JSM"
    assert apply(db, status_change("105", "Waiting for Support", "Resolved", T2)) == "ticket was deleted in JSM"
    assert db.scalars(select(Ticket.deleted)).one() is True


def with_orgs(*orgs: tuple[str, str], **kw: Any) -> dict[str, Any]:
    body = issue_payload(**kw)
    body["issue"]["fields"]["customfield_10002"] = [{"id": int(i), "name": n, "_links": {}} for i, n in orgs]
    return body


def test_organisation_comes_from_jsm_and_prefers_one_an_admin_linked(db: Session) -> None:
    apply(db, with_orgs(("7", "Acme Ltd")))
    org = db.scalars(select(Organization)).one()
    assert (org.slug, org.jira_org_id) == ("acme-ltd", "7")
    db.rollback()
    with db.begin():
        db.add(Organization(slug="beta", name="Beta", jira_org_id="8"))
    apply(db, with_orgs(("9", "Gamma"), ("8", "Beta"), key="SUP-2", jira_id="10002"))
    ticket = db.scalars(select(Ticket).where(Ticket.key == "SUP-2")).one()
    assert ticket.organization.slug == "beta"


def test_without_jsm_organisations_the_reporters_organisation_is_used(db: Session) -> None:
    with db.begin():
        org = Organization(slug="acme", name="Acme")
        db.add(org)
        db.flush()
        db.add(User(email="alice@acme.test", organization_id=org.id))
    apply(db, issue_payload(reporter="acc-unknown", reporter_email="alice@acme.test"))
    assert db.scalars(select(Ticket)).one().organization.slug == "acme"


PARTICIPANTS_FIELD = "customfield_10003"


def _with_participants(updated: str, accounts: list[str] | None) -> IssueEvent:
    """An issue webhook whose Request participants field lists `accounts` (None: the field is absent)."""
    body = issue_payload(updated=updated)
    if accounts is not None:
        body["issue"]["fields"][PARTICIPANTS_FIELD] = [{"accountId": a, "displayName": a} for a in accounts]
    event = normalise(body, participants_fields=frozenset({PARTICIPANTS_FIELD}))
    assert isinstance(event, IssueEvent)
    return event


def _participant_rows(db: Session) -> set[str]:
    return set(db.scalars(select(TicketParticipant.account_id).join(Ticket).where(Ticket.key == "SUP-1")))


def test_participant_rows_follow_jsm_list_in_the_same_apply(db: Session) -> None:
    # Duplicates are stored once; a 200-character "id" is no JSM account (and would not fit the column).
    steps = [("10:00", ["acc-maria", "acc-ivan", "acc-maria", "x" * 200], {"acc-maria", "acc-ivan"}),
             ("10:05", None, {"acc-maria", "acc-ivan"}),  # the field absent: participants not said, kept
             ("10:10", ["acc-ivan", "acc-carl"], {"acc-ivan", "acc-carl"}),
             ("10:01", ["acc-olga"], {"acc-ivan", "acc-carl"}),  # older than the stored ticket: nothing changes
             ("10:15", [], set())]  # emptied in JSM: nobody takes part any more
    for at, accounts, wanted in steps:
        with db.begin():
            apply_issue_event(db, _with_participants(f"2026-01-01T{at}:00.000+0000", accounts), MAPPING)
        db.expire_all()
        assert _participant_rows(db) == wanted, at
        db.rollback()  # ends the read, so the next apply begins its own transaction
