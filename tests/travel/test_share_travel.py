"""Every share link serves a feed, a badge, a JSON summary and a card, in its language and scope; reads counted."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import feedparser
import pytest
from sqlalchemy import select, update

from sync.models import AuditEntry, Organization, StatusHistory, Ticket
from tests.helpers import bearer
from tests.portal.conftest import NOW, sign_in
from tests.travel.conftest import make_link

PATHS = ("", "/feed.atom", "/badge.svg", "/summary.json", "/embed")
INTERNAL = "Tier-2 QA triage"  # a Jira status name a customer must never read


def _internal_names(runtime) -> None:
    """SUP-3 was closed through an internal status; Globex's request changed too (neither feed may mix)."""
    with runtime.sessions() as db, db.begin():
        sup3 = db.scalar(select(Ticket).where(Ticket.key == "SUP-3"))
        sup3.jira_status_name = INTERNAL
        glx = db.scalar(select(Ticket).where(Ticket.key == "GLX-1"))
        db.add_all([StatusHistory(ticket_id=sup3.id, customer_status="closed", jira_status_name=INTERNAL,
                                  at=NOW - timedelta(hours=30), changelog_id="t1"),
                    StatusHistory(ticket_id=glx.id, customer_status="resolved", jira_status_name="Done",
                                  at=NOW - timedelta(hours=2), changelog_id="t2")])


def test_feed_is_atom_with_exactly_the_organisations_customer_visible_changes(client, seeded, runtime):
    _internal_names(runtime)
    path = make_link(client)
    response = client.get(path + "/feed.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    # RFC 4287 4.1.1: a feed has id, title, updated, an author (here on the feed); each entry id, title, updated.
    assert parsed.feed.id.startswith("urn:uuid:") and parsed.feed.title == "Support summary: Acme"
    assert parsed.feed.updated and parsed.feed.author
    assert any(link.rel == "self" and link.href.endswith(path + "/feed.atom") for link in parsed.feed.links)
    for entry in parsed.entries:
        assert entry.id.startswith("urn:uuid:") and entry.title and entry.updated
    got = sorted((e.title.split(":")[0], e.tags[0].term) for e in parsed.entries)
    assert got == [("SUP-1", "opened"), ("SUP-1", "waiting"), ("SUP-2", "opened"), ("SUP-2", "resolved"),
                   ("SUP-3", "closed"), ("SUP-3", "opened")]
    assert len({e.id for e in parsed.entries}) == len(parsed.entries)
    text = response.get_data(as_text=True)
    assert "GLX" not in text and "Globex" not in text
    assert INTERNAL not in text and "In Progress" not in text  # internal status names never travel
    assert "Printer is on fire" not in text and "VPN drops" not in text  # made without subjects
    titles = {e.title for e in parsed.entries}
    assert "SUP-1: Waiting for the requester" in titles and "SUP-2: Resolved" in titles
    # Newest first, as feed readers expect.
    stamps = [e.updated_parsed for e in parsed.entries]
    assert stamps == sorted(stamps, reverse=True)


def test_feed_speaks_the_links_language_and_shows_subjects_only_when_made_with_them(client, seeded):
    path = make_link(client, locale="ru", with_subjects="1")
    parsed = feedparser.parse(client.get(path + "/feed.atom").data)
    assert not parsed.bozo
    assert parsed.feed.title == "Сводка поддержки: Acme"
    assert parsed.feed.language == "ru"
    titles = {e.title for e in parsed.entries}
    assert "SUP-1 Printer is on fire: Создано" in titles, titles
    assert "SUP-1 Printer is on fire: Ожидает ответа заявителя" in titles, titles
    assert "SUP-2 VPN drops every hour: Решено" in titles, titles


def test_badge_is_svg_with_the_counts_and_a_short_cache(client, seeded):
    path = make_link(client)
    response = client.get(path + "/badge.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)  # well-formed XML, or this raises
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "1 open · 1 waiting" in texts and "requests" in texts  # SUP-1 is the one open, and it waits
    assert root.attrib["aria-label"] == "requests: 1 open · 1 waiting"
    cache = response.headers["Cache-Control"]
    assert "max-age=60" in cache and "no-store" not in cache
    assert "Set-Cookie" not in response.headers


def test_badge_counts_follow_the_organisation(client, seeded, runtime):
    with runtime.sessions() as db, db.begin():
        acme = db.scalar(select(Organization.id).where(Organization.slug == "acme"))
        db.execute(update(Ticket).where(Ticket.key == "SUP-1").values(customer_status="in_progress"))
        db.add(Ticket(jira_id="20001", key="SUP-9", project_key="SUP", summary="x", organization_id=acme,
                      customer_status="open", customer_priority="low", bucket="open", created_at=NOW,
                      jira_updated_at=NOW, last_synced_at=NOW))
    path = make_link(client, locale="ru")
    root = ET.fromstring(client.get(path + "/badge.svg").data)
    assert "2 открыто" in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_summary_json_has_the_headline_and_counts(client, seeded):
    path = make_link(client)
    response = client.get(path + "/summary.json")
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    body = json.loads(response.data)
    assert body["organization"] == "Acme" and body["open"] == 1 and body["waiting"] == 1
    assert body["counts"]["bucket"] == {"open": 1, "resolved": 1, "closed": 1}
    assert body["headline"].startswith("1 request waits for the requester")
    assert "recent" not in body and "Printer" not in response.get_data(as_text=True)


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.refresh: str | None = None
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values)
        if tag == "meta" and values.get("http-equiv") == "refresh":
            self.refresh = values.get("content")
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


def test_embed_card_sets_no_cookie_runs_no_script_and_may_be_framed(client, seeded):
    path = make_link(client)
    client.get("/?lang=ru")  # even a reader who has a language cookie of ours gets none back
    response = client.get(path + "/embed")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    scan = _Scan()
    scan.feed(response.get_data(as_text=True))
    assert scan.scripts == [] and scan.handlers == []
    assert scan.refresh == "60"
    assert "X-Frame-Options" not in response.headers
    # Every other page keeps refusing to be framed; the card's policy differs from theirs in that alone.
    other = client.get(path)
    directives = {d.strip() for d in other.headers["Content-Security-Policy"].split(";")}
    card = {d.strip() for d in response.headers["Content-Security-Policy"].split(";")}
    assert directives - card == {"frame-ancestors 'none'"} and card - directives == {"frame-ancestors *"}
    assert other.headers["X-Frame-Options"] == "DENY"
    assert "1 request waits for the requester" in response.get_data(as_text=True)


@pytest.mark.parametrize("suffix", PATHS)
def test_revoked_expired_and_wrong_links_answer_404_everywhere(client, seeded, runtime, suffix):
    path = make_link(client)
    assert client.get(path + suffix).status_code == 200
    assert client.get(path[:-3] + "xyz" + suffix).status_code == 404
    with runtime.sessions() as db, db.begin():
        db.execute(update(Organization).where(Organization.slug == "acme")
                   .values(share_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert client.get(path + suffix).status_code == 404
    fresh = make_link(client)
    sign_in(client, "viewer@acme.test")
    client.post("/summary/share/revoke")
    client.post("/logout")
    assert client.get(fresh + suffix).status_code == 404
    assert client.get("/s/" + "a" * 200 + suffix).status_code == 404


def test_reads_are_counted_and_shown_to_the_maker_and_admins(client, seeded, runtime):
    path = make_link(client, locale="ru", with_subjects="1")
    for suffix in PATHS:
        client.get(path + suffix)
    with runtime.sessions() as db:
        org = db.scalar(select(Organization).where(Organization.slug == "acme"))
        assert org.share_access_count == len(PATHS) and org.share_last_access_at is not None
        assert (org.share_locale, org.share_with_subjects) == ("ru", True)
        audit = db.scalars(select(AuditEntry.details).where(AuditEntry.action == "share_link.create")).all()
    assert audit == [{"locale": "ru", "with_subjects": True, "days": runtime.settings.portal.share_link_days}]
    sign_in(client, "viewer@acme.test")  # the maker
    page = client.get("/summary").get_data(as_text=True)
    assert f"Your link was opened {len(PATHS)} times" in page
    client.post("/logout")
    sign_in(client, "admin@example.test")
    table = client.get("/admin/share-links/").get_data(as_text=True)
    assert 'data-org="acme"' in table and "viewer@acme.test" in table
    assert re.search(rf'<td class="reads"[^>]*>{len(PATHS)}</td>', table), "the reads cell shows the count"
    items = client.get("/api/v1/admin/share-links", headers=bearer(seeded["admin"])).get_json()["items"]
    assert [(i["slug"], i["maker"], i["reads"], i["locale"], i["with_subjects"], i["live"]) for i in items] == [
        ("acme", "viewer@acme.test", len(PATHS), "ru", True, True)]
    assert items[0]["last_read"].endswith("Z")
    assert client.get("/api/v1/admin/share-links", headers=bearer(seeded["viewer"])).status_code == 404
    client.post("/logout")
    sign_in(client, "viewer@acme.test")
    assert client.get("/admin/share-links/").status_code == 404
    # A new link starts its own count.
    client.post("/summary/share", data={})
    with runtime.sessions() as db:
        assert db.scalar(select(Organization.share_access_count).where(Organization.slug == "acme")) == 0


def test_shared_page_shows_subjects_only_for_a_link_made_with_them(client, seeded):
    without = make_link(client)
    assert "Printer is on fire" not in client.get(without).get_data(as_text=True)
    with_them = make_link(client, with_subjects="1")
    assert "Printer is on fire" in client.get(with_them).get_data(as_text=True)


def test_a_bad_language_is_refused_and_names_the_choice(client, seeded):
    sign_in(client, "viewer@acme.test")
    page = client.post("/summary/share", data={"locale": "de"}).get_data(as_text=True)
    assert "Choose one of the offered languages." in page and 'id="share-link"' not in page
