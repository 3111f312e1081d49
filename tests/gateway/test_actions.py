"""Customer actions through the gateway: create, comment, transition, rate, attach, look up by label."""

from __future__ import annotations

import pytest

from sync.jsm.errors import JsmPermanentError


def test_create_comment_transition_and_rate(site, gateway):
    created = gateway.create_request("1", "11", {"summary": "Printer on fire", "description": "Smoke"})
    assert created.issue_key.startswith("SUP-") and created.request_type_id == "11"
    public = gateway.add_comment(created.issue_key, "we are on it")
    internal = gateway.add_comment(created.issue_key, "agents only", public=False)
    assert (public.public, internal.public) == (True, False)
    transitions = gateway.customer_transitions(created.issue_key)
    resolve = next(t for t in transitions if "Resolve" in t.name)
    gateway.perform_transition(created.issue_key, resolve.id)  # no comment: no `body: null` sent
    assert gateway.get_issue(created.issue_key).status_category == "done"
    gateway.add_feedback(created.issue_key, 5, "thanks")
    with site.state.lock:
        assert site.state.get(created.issue_key).feedback == {"rating": 5, "comment": "thanks"}
    with pytest.raises(JsmPermanentError) as caught:
        gateway.perform_transition(created.issue_key, "424242", comment="again")
    assert caught.value.status == 400
    # Every write went out once; the counter tells metrics which endpoints an action cost.
    assert gateway.calls["sd.create_request"] == 1 and gateway.calls["sd.add_comment"] == 2


def test_attach_temporary_file(site, gateway):
    temp = gateway.attach_temporary_file("1", "log.txt", b"hello", "text/plain")
    assert temp.temporary_attachment_id and temp.file_name == "log.txt"
    comment = gateway.add_attachments("SUP-1", [temp.temporary_attachment_id], comment="see the log")
    assert comment is not None and comment.public is True
