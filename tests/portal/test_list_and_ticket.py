"""The list page (tabs, filters, sort, columns, pages, grouping, CSV) and the request page."""

from __future__ import annotations

from datetime import timedelta

from sync.models import Organization, Ticket
from tests.portal.conftest import NOW, _ticket, sign_in


def _keys(html: bytes) -> list[str]:
    text = html.decode()
    return [part.split("<")[0] for part in text.split('class="col-key" data-label="Key"><a href="/tickets/')[1:]
            for part in [part.split(">", 1)[1]]]


def test_tabs_follow_the_role(client, seeded):
    sign_in(client, "alice@acme.test")
    assert b"All organisation" not in client.get("/").data
    sign_in(client, "lead@acme.test")
    page = client.get("/").data
    assert b"My requests" in page and b"All organisation" in page and b"My group" in page


def test_filters_on_every_column(client, seeded):
    sign_in(client, "viewer@acme.test")
    assert _keys(client.get("/").data) == ["SUP-1", "SUP-2", "SUP-3"]  # grouped open, resolved, closed
    assert _keys(client.get("/?status=resolved").data) == ["SUP-2"]
    assert _keys(client.get("/?priority=high,low").data) == ["SUP-1", "SUP-3"]
    assert _keys(client.get("/?type=Consultation").data) == ["SUP-2"]
    assert _keys(client.get("/?bucket=closed").data) == ["SUP-3"]
    assert _keys(client.get("/?q=vpn").data) == ["SUP-2"]
    assert _keys(client.get("/?q=%25").data) == []  # LIKE wildcards are literal
    day = (NOW - timedelta(days=3)).date().isoformat()
    assert _keys(client.get(f"/?created_from={day}").data) == ["SUP-1", "SUP-2"]
    assert _keys(client.get(f"/?created_to={day}").data) == ["SUP-2", "SUP-3"]
    assert client.get("/?created_from=yesterday").status_code == 302


def test_sort_columns_and_cookie(client, seeded):
    sign_in(client, "viewer@acme.test")
    page = client.get("/?sort=key&dir=asc").data
    assert b'aria-sort="ascending"' in page
    response = client.get("/?cols_set=1&cols=key&cols=assignee&cols=created")
    assert "cols=key.assignee.created;" in response.headers["Set-Cookie"]
    page = client.get("/").data
    assert b"Bob Agent" in page and b'class="col-priority"' not in page


def test_pagination_and_grouping(client, seeded, runtime):
    with runtime.sessions() as db, db.begin():
        org = db.query(Organization).filter_by(slug="acme").one()
        db.add_all([_ticket(org.id, 100 + n, f"BULK-{n}", bucket="resolved" if n % 2 else "open",
                            customer_status="resolved" if n % 2 else "open") for n in range(60)])
    sign_in(client, "viewer@acme.test")
    first = client.get("/").data
    assert first.count(b'class="col-key"') == 50 + 1  # rows + the header cell
    assert b"Page 1 of 2" in first and b'rel="next"' in first
    second = client.get("/?page=2").data
    assert b"Page 2 of 2" in second
    assert first.index(b"scope=\"rowgroup\">Open requests") < first.index(b"scope=\"rowgroup\">Resolved requests")


def test_request_page_shows_what_the_customer_needs(client, seeded):
    sign_in(client, "alice@acme.test")
    html = client.get("/tickets/SUP-1").get_data(as_text=True)
    for text in ("Printer is on fire", "Waiting for your reply", "see the latest comment", "Bob Agent",
                 "Alice", "Incident", "Please send <strong>logs</strong>", 'id="ticket-timeline"',
                 'data-can="comment attach resolve cancel"'):
        assert text in html, text
    ru = client.get("/tickets/SUP-1?lang=ru").get_data(as_text=True)
    assert "Ожидает вашего ответа" in ru and "История" in ru


def test_live_endpoints_use_etags(client, seeded, runtime):
    sign_in(client, "viewer@acme.test")
    first = client.get("/live/tickets/SUP-1")
    etag = first.headers["ETag"]
    assert client.get("/live/tickets/SUP-1", headers={"If-None-Match": etag}).status_code == 304
    list_etag = client.get("/live/list").headers["ETag"]
    with runtime.sessions() as db, db.begin():
        db.query(Ticket).filter_by(key="SUP-1").update({"customer_status": "in_progress",
                                                        "jira_updated_at": NOW + timedelta(minutes=1)})
    assert client.get("/live/tickets/SUP-1", headers={"If-None-Match": etag}).status_code == 200
    assert client.get("/live/list", headers={"If-None-Match": list_etag}).status_code == 200
    client.post("/logout")
    assert client.get("/live/list").status_code == 401


def test_calendar_days_are_not_shifted_by_the_readers_zone(app) -> None:  # type: ignore[no-untyped-def]
    from flask import g

    from app.portal.formatting import fmt_day

    with app.test_request_context("/?lang=en", headers={"Cookie": "tz=America/Los_Angeles"}):
        g.user = None
        assert fmt_day("2026-11-20") == "Nov 20, 2026"
