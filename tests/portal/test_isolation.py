"""Tenant isolation, internal comments and comment sanitising across every portal page and API route."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.helpers import bearer
from tests.portal.conftest import SECRET, sign_in

OTHER_ORG_URLS = ["/tickets/GLX-1", "/live/tickets/GLX-1", "/api/v1/tickets/GLX-1", "/tickets/NOPE-1"]
# Every GET route of the portal and the API that shows ticket data, with the organisation's widest scope.
ALL_URLS = ["/", "/?scope=org", "/?q=GLX", "/?scope=mine", "/export.csv", "/export.csv?scope=org", "/summary",
            "/summary?scope=org", "/live/list", "/tickets/SUP-1", "/live/tickets/SUP-1", "/api/v1/tickets?scope=org",
            "/api/v1/tickets/SUP-1", "/api/v1/summary", "/api/v1/summary?scope=org", "/?lang=ru"]


@pytest.mark.parametrize("email", ["alice@acme.test", "viewer@acme.test", "lead@acme.test"])
def test_other_organisation_answers_404_everywhere(client, seeded, email):
    sign_in(client, email)
    token = {"alice@acme.test": "alice", "viewer@acme.test": "viewer", "lead@acme.test": "lead"}[email]
    for url in OTHER_ORG_URLS:
        response = client.get(url, headers=bearer(seeded[token]) if url.startswith("/api/") else {})
        assert response.status_code == 404, url
        assert b"Globex" not in response.data


def test_lists_csv_and_summaries_never_show_another_organisation(client, seeded):
    sign_in(client, "viewer@acme.test")
    for url in ALL_URLS:
        response = client.get(url, headers=bearer(seeded["viewer"]) if url.startswith("/api/") else {})
        assert response.status_code == 200, url
        assert b"GLX-1" not in response.data and b"Globex" not in response.data, url


def test_scope_the_role_lacks_does_not_widen(client, seeded):
    sign_in(client, "alice@acme.test")
    assert client.get("/?scope=org").status_code == 302
    assert client.get("/export.csv?scope=org").status_code == 400
    assert client.get("/api/v1/summary?scope=org", headers=bearer(seeded["alice"])).status_code == 400
    page = client.get("/").data
    assert b"SUP-3" not in page  # reported by someone else in the same organisation


@pytest.mark.parametrize("who", ["viewer", "admin"])
def test_internal_comment_never_reaches_any_answer(client, seeded, who):
    sign_in(client, {"viewer": "viewer@acme.test", "admin": "admin@example.test"}[who])
    urls = [*ALL_URLS, "/tickets/SUP-1?lang=ru", "/export.csv?q=SUP-1"]
    for url in urls:
        response = client.get(url, headers=bearer(seeded[who]) if url.startswith("/api/") else {})
        assert SECRET.encode() not in response.data, url


def test_comment_markup_renders_inert(client, seeded):
    sign_in(client, "viewer@acme.test")
    html = client.get("/tickets/SUP-1").get_data(as_text=True)
    assert "Mallory" in html
    body = html[html.index('id="ticket-comments"'):html.index('id="ticket-actions"')]
    assert_inert(body)
    assert "&lt;script&gt;" in body  # shown as text, not dropped silently
    api = client.get("/api/v1/tickets/SUP-1", headers=bearer(seeded["viewer"])).get_json()
    for comment in api["comments"]:
        assert_inert(comment["body_html"])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_inert(fragment: str) -> None:
    """No script or embedding element, no event attribute, no javascript: URL in real markup."""
    parser = _Tags()
    parser.feed(fragment)
    for tag, attrs in parser.tags:
        assert tag not in ("script", "img", "iframe", "object", "embed", "svg", "style"), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith(("javascript:", "data:", "vbscript:")), (tag, value)


def test_share_and_token_management_stay_inside_own_account(client, seeded, runtime):
    sign_in(client, "gina@globex.test")
    client.post("/account/tokens", data={"name": "mine"})
    sign_in(client, "viewer@acme.test")
    from sqlalchemy import select

    from sync.models import ApiToken, AuditEntry, Organization, User

    with runtime.sessions() as db:
        gina_token = db.scalars(select(ApiToken.id).join(User).where(User.email == "gina@globex.test")).first()
    assert client.post(f"/account/tokens/{gina_token}/revoke").status_code == 404
    # An org viewer can only share their own organisation, whatever the form says.
    client.post("/summary/share", data={"org": "globex"})
    with runtime.sessions() as db:
        orgs = {o.slug: o.share_token_hash for o in db.scalars(select(Organization))}
    assert orgs["globex"] is None and orgs["acme"] is not None
    client.post("/summary/share/revoke")
    with runtime.sessions() as db:  # both are in the audit log, on the organisation that was shared
        audited = db.execute(select(AuditEntry.action, AuditEntry.target, AuditEntry.actor_email)
                             .where(AuditEntry.action.startswith("share_link.")).order_by(AuditEntry.id)).all()
    assert audited == [("share_link.create", "organization acme", "viewer@acme.test"),
                       ("share_link.revoke", "organization acme", "viewer@acme.test")]
    sign_in(client, "alice@acme.test")
    assert client.post("/summary/share").status_code == 404  # customers cannot share


def test_shared_summary_counts_one_organisation_and_hides_subjects(client, seeded):
    sign_in(client, "viewer@acme.test")
    page = client.post("/summary/share").get_data(as_text=True)
    link = page.split('id="share-link" class="mono" readonly value="')[1]
    token_path = link.split('"')[0].split("localhost")[1]
    client.post("/logout")
    shared = client.get(token_path)
    assert shared.status_code == 200
    text = shared.get_data(as_text=True)
    assert "Acme" in text and "Globex" not in text and "GLX-1" not in text
    assert "Printer is on fire" not in text  # subjects stay private
    assert shared.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/summary").status_code == 302  # the shared link is no session
    assert client.get(token_path[:-2] + "xx").status_code == 404
    sign_in(client, "viewer@acme.test")
    client.post("/summary/share/revoke")
    assert client.get(token_path).status_code == 404
