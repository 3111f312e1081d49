"""The create page and the request page's comment form, through the Flask test client."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from sync.models import OutboxAction


def _sign_in(env) -> None:  # type: ignore[no-untyped-def]
    response = env.client.post("/login", data={"email": "customer1@example.com", "password": "correct horse battery"})
    assert response.status_code == 302, response.data[:500]


def test_create_through_the_portal_form_with_a_file(env) -> None:  # type: ignore[no-untyped-def]
    _sign_in(env)
    page = env.client.get("/tickets/new?service_desk=1&request_type=11")
    assert page.status_code == 200 and b'id="create-form"' in page.data and b"Environment" in page.data
    bad = env.client.post("/tickets/new?service_desk=1&request_type=11",
                          data={"summary": "x", "field.customfield_10201": "nope"})
    assert bad.status_code == 400 and "Choose one of the offered values for “Environment”".encode() in bad.data
    assert b'aria-invalid="true" aria-describedby="field.customfield_10201-error"' in bad.data
    assert b"not one of" not in bad.data, "no developer English for customers"
    # An error keeps the chosen file (carried back in the form) and words the missing subject in Russian.
    again = env.client.post("/tickets/new?service_desk=1&request_type=11&lang=ru", content_type="multipart/form-data",
                            data={"summary": " ", "files": (io.BytesIO(b"log line"), "error.log")})
    assert again.status_code == 400 and "Заполните поле «Тема»".encode() in again.data
    kept = re.search(rb'name="kept" value="([^"]+)"', again.data)
    assert kept and b"error.log" in again.data
    six = [(io.BytesIO(b"x"), f"f{i}.txt") for i in range(6)]
    refused = env.client.post("/tickets/new?service_desk=1&request_type=11&lang=en", content_type="multipart/form-data",
                              data={"summary": "Six files", "files": six})
    assert refused.status_code == 400 and b"You can attach up to 5 files; you chose 6" in refused.data
    response = env.client.post("/tickets/new?service_desk=1&request_type=11", content_type="multipart/form-data",
                               data={"summary": "Screen is blue", "description": "since Monday",
                                     "field.customfield_10201": "10302", "submission": "form-1", "priority": "high",
                                     "kept": kept.group(1).decode()})
    assert response.status_code == 303, response.data[:500]
    pending = env.client.get(response.headers["Location"])
    assert pending.status_code == 200 and b'data-state="pending"' in pending.data
    env.push_all()
    opened = env.client.get(response.headers["Location"])
    assert opened.status_code == 302 and "/tickets/SUP-" in opened.headers["Location"]
    key = opened.headers["Location"].rsplit("/", 1)[-1]
    with env.sb.state.lock:
        req = env.sb.state.get(key)
        assert req.reporter.email == "customer1@example.com" and req.custom["customfield_10201"] == "10302"
        assert len(req.attachments) == 1, "the kept file went through JSM's temporary-attachment flow"
        assert req.priority_id == "2", "the customer's high is raised as Jira's High (the mapping)"
    shown = env.client.get(f"/tickets/{key}")
    assert b"since Monday" in shown.data and b"customer portal ref" not in shown.data
    assert env.sandbox_state()["counts"]["requests"] == 1


def test_comment_through_the_request_page_form(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    other = env.raise_request(reporter="customer2@example.com")
    _sign_in(env)
    assert env.client.post(f"/tickets/{other}/actions/comment", data={"body": "hi"}).status_code == 404
    page = env.client.get(f"/tickets/{key}")
    assert page.status_code == 200 and b'id="comment-form"' in page.data and b'id="resolve-form"' in page.data
    response = env.client.post(f"/tickets/{key}/actions/comment", data={"body": "From the portal"})
    assert response.status_code == 303
    assert env.client.post(f"/tickets/{key}/actions/reopen", data={}).status_code == 303  # refused: flashed
    with env.runtime.sessions() as db:
        assert [a.kind for a in db.scalars(select(OutboxAction))] == ["comment"]
    env.push_all()
    state = env.sandbox_state()
    assert state["counts"]["comments"] == 1
    assert state["requests"][key]["public_comments"][0]["body"].endswith("From the portal")


def test_resolve_rate_reopen_and_cancel_through_the_request_page_forms(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    other = env.raise_request(reporter="customer2@example.com")
    _sign_in(env)
    for kind in ("resolve", "cancel", "reopen", "rate"):
        assert env.client.post(f"/tickets/{other}/actions/{kind}", data={"score": "5"}).status_code == 404, kind

    assert env.client.post(f"/tickets/{key}/actions/rate", data={"score": "5"}).status_code == 303  # refused
    assert env.client.post(f"/tickets/{key}/actions/resolve", data={"comment": "Works now"}).status_code == 303
    env.push_all()
    state = env.sandbox_state()["requests"][key]
    assert state["status"] == "Resolved"
    assert [c["body"].rsplit("\n", 1)[-1] for c in state["public_comments"]] == ["Works now"]
    page = env.client.get(f"/tickets/{key}")
    assert b'id="rate-form"' in page.data and b'id="reopen-form"' in page.data and b'id="resolve-form"' not in page.data

    assert env.client.post(f"/tickets/{key}/actions/rate", data={"score": "4", "comment": "fast"}).status_code == 303
    env.push_all()
    with env.sb.state.lock:
        assert env.sb.state.get(key).feedback == {"rating": 4, "comment": "fast"}

    assert env.client.post(f"/tickets/{key}/actions/reopen", data={"comment": "It broke again"}).status_code == 303
    env.push_all()
    assert env.sandbox_state()["requests"][key]["status"] == "Waiting for Support"

    assert env.client.post(f"/tickets/{key}/actions/cancel", data={"comment": "Not needed"}).status_code == 303
    env.push_all()
    final = env.sandbox_state()["requests"][key]
    assert final["status"] == "Canceled"
    assert [c["body"].rsplit("\n", 1)[-1] for c in final["public_comments"]] == \
        ["Works now", "It broke again", "Not needed"]
    with env.runtime.sessions() as db:
        kinds = [a.kind for a in db.scalars(select(OutboxAction).order_by(OutboxAction.id))]
    assert kinds == ["resolve", "rate", "reopen", "cancel"], "the refused rating was never queued"
