"""Wording by reader: the requester reads "waiting for your reply", everyone else "waiting for the requester"."""

from __future__ import annotations

import json

from tests.portal.conftest import sign_in

# SUP-1 (seeded) is Alice's and waits for the customer; the org viewer is her colleague.
YOURS = "Waiting for your reply"
NEUTRAL = "Waiting for the requester"


def test_request_page_and_list_speak_to_the_requester_only(client, seeded):
    sign_in(client, "alice@acme.test")
    page = client.get("/tickets/SUP-1").get_data(as_text=True)
    assert YOURS in page and "more information from you" in page and NEUTRAL not in page
    assert YOURS in client.get("/").get_data(as_text=True)
    sign_in(client, "viewer@acme.test")
    page = client.get("/tickets/SUP-1").get_data(as_text=True)
    assert NEUTRAL in page and "more information from the requester" in page
    assert YOURS not in page and "from you" not in page
    listing = client.get("/").get_data(as_text=True)
    assert NEUTRAL in listing and YOURS not in listing
    ru = client.get("/tickets/SUP-1?lang=ru").get_data(as_text=True)
    assert "Ожидает ответа заявителя" in ru and "Ожидает вашего ответа" not in ru


def test_api_labels_follow_the_reader(client, seeded):
    alice, viewer = seeded["alice"], seeded["viewer"]
    for token, wanted in ((alice, YOURS), (viewer, NEUTRAL)):
        answer = client.get("/api/v1/tickets/SUP-1", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.data
        assert json.loads(answer.data)["status_label"] == wanted


def test_needs_your_action_banner_counts_only_own_waiting_requests(client, seeded):
    sign_in(client, "alice@acme.test")
    page = client.get("/").get_data(as_text=True)
    assert "1 request waits for your reply" in page
    assert 'href="/?scope=mine&amp;status=awaiting_customer"' in page
    assert "1 обращение ждёт вашего ответа" in client.get("/?lang=ru").get_data(as_text=True)
    sign_in(client, "viewer@acme.test")  # SUP-1 is not the viewer's: no banner for them
    assert "wait for your reply" not in client.get("/").get_data(as_text=True)
    assert "waits for your reply" not in client.get("/").get_data(as_text=True)


def test_summary_headline_and_share_page_address_the_right_person(client, seeded):
    sign_in(client, "alice@acme.test")
    assert "1 request waits for your reply" in client.get("/summary").get_data(as_text=True)
    sign_in(client, "viewer@acme.test")
    summary = client.get("/summary").get_data(as_text=True)
    assert "1 request waits for the requester" in summary and "your reply" not in summary
    page = client.post("/summary/share").get_data(as_text=True)
    link = page.split('id="share-link" class="mono" readonly value="')[1].split('"')[0]
    shared = client.get("/s/" + link.rsplit("/s/", 1)[1]).get_data(as_text=True)
    assert "1 request waits for the requester" in shared and "your reply" not in shared
    assert "Waiting for your reply" not in shared


def _new_link(client, **form) -> str:  # type: ignore[no-untyped-def]
    page = client.post("/summary/share", data=form).get_data(as_text=True)
    link = page.split('id="share-link" class="mono" readonly value="')[1].split('"')[0]
    return "/s/" + link.rsplit("/s/", 1)[1]


def test_share_links_expire_and_name_the_organisation(client, seeded, runtime):
    from datetime import UTC, datetime, timedelta

    from sync.models import Organization

    sign_in(client, "viewer@acme.test")
    form = client.get("/summary").get_data(as_text=True)
    assert 'name="days" type="number"' in form and 'max="90" value="30"' in form  # config defaults
    path = _new_link(client)
    page = client.get("/summary").get_data(as_text=True)
    assert "The current link works until" in page
    with runtime.sessions() as db:
        expires = db.query(Organization).filter_by(slug="acme").one().share_expires_at
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)
    shared = client.get(path).get_data(as_text=True)
    assert "<title>Support summary: Acme" in shared  # the organisation in the public page's title
    # The chosen lifetime is kept within the configured maximum; bad values are refused, nothing changes.
    for bad in ("91", "0", "soon", "-3"):
        refused = client.post("/summary/share", data={"days": bad})
        assert refused.status_code == 200 and "whole number of days from 1 to 90" in refused.get_data(as_text=True)
    assert client.get(path).status_code == 200, "a refused form leaves the working link alone"
    short = _new_link(client, days="1")
    assert client.get(path).status_code == 404  # replaced
    with runtime.sessions() as db, db.begin():
        db.query(Organization).filter_by(slug="acme").update(
            {"share_expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    assert client.get(short).status_code == 404  # expired


def test_share_link_limits_come_from_the_configuration(tmp_path, database_url, redis_url):
    import pytest
    from pydantic import ValidationError

    from tests.conftest import make_settings

    settings = make_settings(tmp_path, database_url, redis_url, portal={"share_link_days": 7,
                                                                        "share_link_max_days": 14})
    assert (settings.portal.share_link_days, settings.portal.share_link_max_days) == (7, 14)
    with pytest.raises(ValidationError, match="more than share_link_max_days"):
        make_settings(tmp_path, database_url, redis_url, portal={"share_link_days": 30, "share_link_max_days": 14})
