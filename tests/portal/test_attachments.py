"""Attachments on the request page: mirrored from servicedeskapi (customer-visible only), downloaded
through the portal with the ticket's scope, from a stand-in JSM served over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from sandbox.testing import RunningSandbox, running_sandbox
from sync.inbound import attachments
from sync.inbound.reconcile import reconcile
from sync.jobs import request_attachment_refreshes
from sync.jsm.gateway import JsmGateway
from sync.models import Attachment, Organization, Ticket
from tests.conftest import make_settings
from tests.helpers import make_account
from tests.portal.conftest import sign_in

PAYLOAD = bytes(range(256)) * 40 + "конец <script>alert(1)</script>".encode()


@pytest.fixture(params=["cloud", "datacenter"])
def site(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    with running_sandbox(seed="empty", deployment=request.param) as sb:
        yield sb


@pytest.fixture
def app(tmp_path, database_url, redis_url, redis_client, site):  # type: ignore[no-untyped-def]
    from app import create_app

    settings = make_settings(tmp_path, database_url, redis_url,
                             jira={"base_url": site.url, "deployment": site.sandbox.deployment, "email": site.email,
                                   "api_token": site.token, "allow_unsigned_webhooks": True, "projects": ["SUP"]})
    application = create_app(settings, {"TESTING": True, "WTF_CSRF_ENABLED": False})
    yield application
    application.extensions["companion"].close()


def _control(site: RunningSandbox, path: str, body: dict[str, Any]) -> Any:
    resp = requests.post(f"{site.url}/_sandbox{path}", json=body, timeout=10)
    resp.raise_for_status()
    return resp.json()


def _gateway(runtime: Any) -> JsmGateway:
    return JsmGateway.from_settings(runtime.settings, redis=runtime.redis, rate=1000, burst=1000)


def _own(runtime: Any, key: str, org: str, email: str) -> None:
    """Give a mirrored ticket to a portal organisation and reporter (the stand-in's orgs are not set up)."""
    with runtime.sessions() as db, db.begin():
        org_id = db.scalar(select(Organization.id).where(Organization.slug == org))
        db.execute(update(Ticket).where(Ticket.key == key).values(organization_id=org_id, reporter_email=email))


@pytest.fixture
def mirrored(app, runtime, site) -> dict[str, str]:  # type: ignore[no-untyped-def]
    make_account(runtime, "alice@acme.test", "customer", "acme")
    make_account(runtime, "gina@globex.test", "org_viewer", "globex")
    first = _control(site, "/requests", {"summary": "Printer", "request_type": "11"})["key"]
    other = _control(site, "/requests", {"summary": "Scanner", "request_type": "11"})["key"]
    gw = _gateway(runtime)
    reconcile(runtime, full=True, project="SUP", gateway=gw)
    public = _control(site, f"/requests/{first}/attachment",
                      {"filename": "report <1>.html", "mime_type": "text/html",
                       "content_b64": base64.b64encode(PAYLOAD).decode()})["id"]
    internal = _control(site, f"/requests/{first}/attachment",
                        {"filename": "internal-notes.txt", "content": "secret", "public": False})["id"]
    elsewhere = _control(site, f"/requests/{other}/attachment", {"filename": "b.txt", "content": "other"})["id"]
    reconcile(runtime, full=False, project="SUP", gateway=gw)
    _own(runtime, first, "acme", "alice@acme.test")
    _own(runtime, other, "acme", "someone@acme.test")
    return {"key": first, "other": other, "public": public, "internal": internal, "elsewhere": elsewhere}


def test_attachment_shows_after_sync_and_downloads_byte_identical(client, runtime, mirrored) -> None:
    with runtime.sessions() as db:
        stored = {a.jira_id for a in db.scalars(select(Attachment))}
    assert mirrored["public"] in stored and mirrored["internal"] not in stored  # never an internal file
    sign_in(client, "alice@acme.test")
    page = client.get(f"/tickets/{mirrored['key']}").data.decode()
    assert "report &lt;1&gt;.html" in page and "internal-notes" not in page
    url = f"/tickets/{mirrored['key']}/attachments/{mirrored['public']}"
    assert url in page
    resp = client.get(url)
    assert resp.status_code == 200 and resp.data == PAYLOAD
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.mimetype == "application/octet-stream"  # an HTML file is never rendered by the portal
    # The internal one is not mirrored: 404 even though JSM has it.
    assert client.get(f"/tickets/{mirrored['key']}/attachments/{mirrored['internal']}").status_code == 404


def test_other_organisation_and_other_ticket_get_404(client, mirrored) -> None:
    sign_in(client, "gina@globex.test")
    assert client.get(f"/tickets/{mirrored['key']}").status_code == 404
    assert client.get(f"/tickets/{mirrored['key']}/attachments/{mirrored['public']}").status_code == 404
    sign_in(client, "alice@acme.test")
    # An attachment of another ticket through this ticket's URL.
    assert client.get(f"/tickets/{mirrored['key']}/attachments/{mirrored['elsewhere']}").status_code == 404
    assert client.get(f"/tickets/{mirrored['key']}/attachments/999999").status_code == 404


def test_reconcile_asks_for_attachments_only_when_they_changed(runtime, site, mirrored) -> None:
    gw = _gateway(runtime)
    reconcile(runtime, full=True, project="SUP", gateway=gw)
    assert gw.calls.get("sd.attachments", 0) == 0  # fields.attachment unchanged since the last refresh


def test_webhook_with_attachment_change_enqueues_a_refresh(runtime, site, mirrored) -> None:
    site.wait_for_webhooks()
    bodies = [json.dumps({"webhookEvent": "jira:issue_updated",
                          "issue": {"id": "1", "key": mirrored["key"], "fields": {"attachment": [{"id": "7"}]}},
                          "changelog": {"items": [{"field": "Attachment", "fieldId": "attachment", "to": "7"}]}}),
              json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "2", "key": "SUP-99", "fields": {}},
                          "changelog": {"items": [{"field": "status"}]}})]
    changes = attachments.changes_in_rows(bodies)
    assert changes == {mirrored["key"]: ["7"]}
    assert request_attachment_refreshes(runtime.redis, changes) == 1
    # The maintenance job itself: asks servicedeskapi and keeps only what it lists.
    result = attachments.refresh(runtime, mirrored["key"], ["7"], gateway=_gateway(runtime))
    assert result["state"] == "refreshed" and result["listed"] == 1


@pytest.mark.parametrize("name", ["Отчёт за май.pdf", "line\r\nbreak\x00.txt"])
def test_any_file_name_downloads_with_an_rfc_6266_disposition(client, runtime, site, mirrored, name: str) -> None:
    """Cyrillic names (the product's second language) and control characters in a name download."""
    added = _control(site, f"/requests/{mirrored['key']}/attachment", {"filename": name, "content": "x"})["id"]
    reconcile(runtime, full=False, project="SUP", gateway=_gateway(runtime))
    _own(runtime, mirrored["key"], "acme", "alice@acme.test")  # reconcile took the request's tenancy from JSM
    sign_in(client, "alice@acme.test")
    resp = client.get(f"/tickets/{mirrored['key']}/attachments/{added}")
    assert resp.status_code == 200 and resp.data == b"x"
    header = resp.headers["Content-Disposition"]
    header.encode("latin-1")  # what a real server must send (a non-Latin-1 header is dropped)
    assert "\r" not in header and "\n" not in header and "\x00" not in header
    if name.startswith("Отчёт"):
        assert "filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20%D0%B7%D0%B0%20%D0%BC%D0%B0%D0%B9.pdf" in header
    else:
        assert 'filename=linebreak.txt' in header
