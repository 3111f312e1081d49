"""Files on comments: a customer adds files to an existing request, through the API and the
request page's form; they land on the request in JSM once (with the comment as JSM's additionalComment),
even when a push dies between the upload and the attach or after JSM accepted the attach."""

from __future__ import annotations

import base64
import io

import pytest
import requests
from sqlalchemy import select

from sync.models import Comment, OutboxAction


def _file(name: str, content: bytes = b"log line\n", mime: str | None = "text/plain") -> dict[str, str]:
    out = {"name": name, "content_base64": base64.b64encode(content).decode()}
    if mime:
        out["mime"] = mime
    return out


def _attachments(env, key: str) -> list[str]:  # type: ignore[no-untyped-def]
    with env.sb.state.lock:
        return [a.filename for a in env.sb.state.get(key).attachments]


def _public_bodies(env, key: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [c["body"] for c in env.sandbox_state()["requests"][key]["public_comments"]]


def _sign_in(env) -> None:  # type: ignore[no-untyped-def]
    response = env.client.post("/login", data={"email": "customer1@example.com", "password": "correct horse battery"})
    assert response.status_code == 302, response.data[:500]


class Died(Exception):
    """The worker is gone (stands for SIGKILL in the middle of a push)."""


def _hand_back(env) -> None:  # type: ignore[no-untyped-def]
    """The sweeper after the lease: the abandoned `sending` action goes back to pending (attempts kept)."""
    from sync.outbound.outbox import due_actions

    with env.runtime.sessions() as db, db.begin():
        due_actions(db, lease_seconds=0)


def _push_dies(env) -> int:  # type: ignore[no-untyped-def]
    from sync.outbound.push import push

    with env.runtime.sessions() as db:
        action_id = db.scalars(select(OutboxAction.id).where(OutboxAction.state == "pending")).one()
    with pytest.raises(Died):
        push(env.runtime, action_id, sleep=lambda s: None)
    with env.runtime.sessions() as db:
        assert db.get(OutboxAction, action_id).state == "sending"
    return action_id


def test_comment_with_files_through_the_api_lands_once(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    h = env.headers()
    response = env.client.post(f"/api/v1/tickets/{key}/comments", headers=h,
                               json={"body": "Logs attached", "attachments": [_file("error.log"),
                                                                              _file("shot.png", b"\x89PNG", None)]})
    assert response.status_code == 202, response.json
    assert response.json["comment"]["sync"]["state"] == "pending"
    env.push_all()
    assert sorted(_attachments(env, key)) == ["error.log", "shot.png"]
    [body] = _public_bodies(env, key)
    assert body.endswith("Logs attached") and "Alice Brown" in body
    with env.sb.state.lock:
        assert {a.mime_type for a in env.sb.state.get(key).attachments} == {"text/plain", "application/octet-stream"}
    with env.runtime.sessions() as db:
        [action] = db.scalars(select(OutboxAction)).all()
        assert action.state == "done" and action.attempts == 1 and "attached 2 file(s)" in action.jira_response
        [comment] = db.scalars(select(Comment)).all()  # the webhook linked the pending comment: no echo copy
        assert comment.jira_id and comment.outbox_action_id == action.id
    ticket = env.client.get(f"/api/v1/tickets/{key}", headers=h).json
    assert [c["sync"]["state"] for c in ticket["comments"]] == ["synced"] and not ticket["comments"][0]["from_support"]

    # Only files: allowed, no comment in JSM.
    response = env.client.post(f"/api/v1/tickets/{key}/comments", headers=h,
                               json={"body": "  ", "attachments": [_file("more.log")]})
    assert response.status_code == 202, response.json
    assert "comment" not in response.json
    env.push_all()
    assert sorted(_attachments(env, key)) == ["error.log", "more.log", "shot.png"]
    assert len(_public_bodies(env, key)) == 1


def test_comment_files_are_validated(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    h = env.headers()

    def post(body):  # type: ignore[no-untyped-def]
        return env.client.post(f"/api/v1/tickets/{key}/comments", headers=h, json=body)

    for bad in ([_file(f"f{n}.txt") for n in range(6)], "not a list", [{"name": "x.txt"}],
                [{"name": "x.txt", "content_base64": "%%%not base64"}]):
        response = post({"body": "see files", "attachments": bad})
        assert response.status_code == 400 and response.json["field"] == "attachments", response.json
    response = post({"body": "", "attachments": []})
    assert response.status_code == 400 and response.json["field"] == "body"
    with env.runtime.sessions() as db:
        assert db.scalars(select(OutboxAction)).all() == []


def test_comment_files_refused_where_attach_is_not_allowed_and_outside_the_scope(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mappings.model import CustomerStatus

    key = env.raise_request()
    other = env.raise_request(reporter="customer2@example.com")  # another organisation's request
    h = env.headers()
    files = {"body": "here", "attachments": [_file("a.txt")]}
    assert env.client.post(f"/api/v1/tickets/{other}/comments", headers=h, json=files).status_code == 404

    # A status that allows comments but not files: the files are refused, a plain comment is not.
    allows = CustomerStatus.allows
    monkeypatch.setattr(CustomerStatus, "allows", lambda self, action: action != "attach" and allows(self, action))
    refused = env.client.post(f"/api/v1/tickets/{key}/comments", headers=h, json=files)
    assert refused.status_code == 409 and refused.json["field"] == "attachments", refused.json
    assert env.client.post(f"/api/v1/tickets/{key}/comments", headers=h, json={"body": "plain"}).status_code == 202
    monkeypatch.undo()
    env.push_all()

    # Canceled in JSM: neither comments nor files.
    requests.post(f"{env.sb.url}/_sandbox/requests/{key}/transition", json={"status": "Canceled"}, timeout=10)
    env.sync_in()
    refused = env.client.post(f"/api/v1/tickets/{key}/comments", headers=h, json=files)
    assert refused.status_code == 409, refused.json
    with env.runtime.sessions() as db:
        assert [a.kind for a in db.scalars(select(OutboxAction))] == ["comment"]
    assert _attachments(env, key) == []


def test_comment_with_files_through_the_request_page_form(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    other = env.raise_request(reporter="customer2@example.com")
    _sign_in(env)
    page = env.client.get(f"/tickets/{key}")
    assert page.status_code == 200
    assert b'enctype="multipart/form-data"' in page.data and b'type="file" id="comment-files" name="files" multiple' \
        in page.data and b'<label for="comment-files">' in page.data
    assert env.client.post(f"/tickets/{other}/actions/comment", content_type="multipart/form-data",
                           data={"body": "hi", "files": (io.BytesIO(b"x"), "x.txt")}).status_code == 404
    response = env.client.post(f"/tickets/{key}/actions/comment", content_type="multipart/form-data",
                               data={"body": "From the portal, with files",
                                     "files": [(io.BytesIO(b"one"), "one.txt"), (io.BytesIO(b"two"), "two.txt")]})
    assert response.status_code == 303, response.data[:500]
    # Only a file, no text.
    response = env.client.post(f"/tickets/{key}/actions/comment", content_type="multipart/form-data",
                               data={"body": "", "files": (io.BytesIO(b"three"), "three.txt")})
    assert response.status_code == 303
    env.push_all()
    assert sorted(_attachments(env, key)) == ["one.txt", "three.txt", "two.txt"]
    [body] = _public_bodies(env, key)
    assert body.endswith("From the portal, with files")
    with env.runtime.sessions() as db:
        assert {a.state for a in db.scalars(select(OutboxAction))} == {"done"}
        assert len(db.scalars(select(Comment)).all()) == 1


def test_crash_between_upload_and_attach_does_not_duplicate(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sync.jsm.gateway import JsmGateway

    key = env.raise_request()
    assert env.client.post(f"/api/v1/tickets/{key}/comments", headers=env.headers(),
                           json={"body": "crash test", "attachments": [_file("a.log"), _file("b.log")]}
                           ).status_code == 202

    def die(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise Died

    monkeypatch.setattr(JsmGateway, "add_attachments", die)
    _push_dies(env)
    with env.sb.state.lock:
        assert len(env.sb.state.temp_files) == 2, "the files were uploaded before the worker died"
    assert _attachments(env, key) == [] and _public_bodies(env, key) == []
    monkeypatch.undo()
    _hand_back(env)
    env.push_all()
    assert sorted(_attachments(env, key)) == ["a.log", "b.log"]
    assert len(_public_bodies(env, key)) == 1
    with env.runtime.sessions() as db:
        [action] = db.scalars(select(OutboxAction)).all()
        assert action.state == "done" and action.attempts == 2
        assert len(db.scalars(select(Comment)).all()) == 1


@pytest.mark.parametrize("body", ["accepted then died", ""])
def test_crash_after_jsm_accepted_the_attach_is_found_not_repeated(env, monkeypatch, body) -> None:  # type: ignore[no-untyped-def]
    from sync.jsm.gateway import JsmGateway

    key = env.raise_request()
    h = env.headers()
    # An earlier file of the same name is already on the request: the retry must not mistake it for ours.
    assert env.client.post(f"/api/v1/tickets/{key}/comments", headers=h,
                           json={"attachments": [_file("same.log")]}).status_code == 202
    env.push_all()
    assert _attachments(env, key) == ["same.log"]

    assert env.client.post(f"/api/v1/tickets/{key}/comments", headers=h,
                           json={"body": body, "attachments": [_file("same.log")]}).status_code == 202
    original = JsmGateway.add_attachments

    def accepted_then_die(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        raise Died

    monkeypatch.setattr(JsmGateway, "add_attachments", accepted_then_die)
    _push_dies(env)
    assert _attachments(env, key) == ["same.log", "same.log"]
    monkeypatch.undo()
    _hand_back(env)
    env.push_all()
    assert _attachments(env, key) == ["same.log", "same.log"], "attached once"
    assert len(_public_bodies(env, key)) == (1 if body else 0), "commented once"
    with env.runtime.sessions() as db:
        last = db.scalars(select(OutboxAction).order_by(OutboxAction.id.desc())).first()
        assert last.state == "done" and "found after a retry" in last.jira_response, last.jira_response
        assert len(db.scalars(select(Comment)).all()) == (1 if body else 0)
