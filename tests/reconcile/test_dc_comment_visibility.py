"""Data Center comment webhooks carry no `jsdPublic`: the inbox job asks JSM before applying."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from sync.inbound.reconcile import reconcile
from sync.jobs import drain_inbox
from sync.models import Comment, InboundEvent
from tests.reconcile.conftest import control, gateway_for, populate


def _dc_comment_event(site, issue_id: str, comment_id: str, body: str) -> dict:
    # The shape of a real DC `comment_created` (REFERENCE a.1): no `issue`, no `jsdPublic`.
    return {"timestamp": 1, "webhookEvent": "comment_created", "comment": {
        "self": f"{site.url}/rest/api/2/issue/{issue_id}/comment/{comment_id}", "id": comment_id, "body": body,
        "author": {"name": "agent1", "key": "agent1", "displayName": "Agent"},
        "created": "2030-01-01T10:00:00.000+0000", "updated": "2030-01-01T10:00:00.000+0000"}}


@pytest.mark.parametrize("site", ["datacenter"], indirect=True)
def test_dc_comment_events_get_visibility_from_jsm(runtime, site):
    key = populate(site, 1)[0]
    reconcile(runtime, full=True, gateway=gateway_for(runtime))
    issue_id = str(site.state.get(key).id)
    internal = control(site, "POST", f"/requests/{key}/comment", {"body": "internal only", "public": False})["id"]
    public = control(site, "POST", f"/requests/{key}/comment", {"body": "for the customer", "public": True})["id"]
    with runtime.sessions() as session, session.begin():
        for n, (cid, body) in enumerate(((internal, "internal only"), (public, "for the customer"))):
            session.add(InboundEvent(delivery_id=f"dc-{n}", webhook_event="comment_created",
                                     payload=json.dumps(_dc_comment_event(site, issue_id, cid, body))))
    assert drain_inbox(runtime) == {"applied": 2}
    with runtime.sessions() as session:
        rows = {c.jira_id: c.public for c in session.scalars(select(Comment).where(
            Comment.jira_id.in_([internal, public])))}
    assert rows == {internal: False, public: True}
