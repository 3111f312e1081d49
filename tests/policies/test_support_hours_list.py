"""Support hours head the request list as they do on the request page: the calendar's days and hours,
the reader's own zone when it differs, whether support works now; nothing for round-the-clock support."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import yaml
from sqlalchemy import update

from mappings import default_yaml
from sync.mapping_store import publish_version
from sync.models import User


def _block(html: str) -> str:
    found = re.search(r'<div id="list-support-hours">(.*?)</div>', html, re.S)
    assert found, "no support-hours block on the list"
    return re.sub(r"\s+", " ", found.group(1))


def test_the_list_shows_support_hours_in_both_languages_and_zones(env) -> None:  # type: ignore[no-untyped-def]
    env.raise_request(summary="Payments are down")
    with env.runtime.sessions() as db, db.begin():
        db.execute(update(User).where(User.email == "customer1@example.com").values(timezone="Asia/Vladivostok"))
    env.client.post("/login", data={"email": "customer1@example.com", "password": "correct horse battery"})
    english = _block(env.client.get("/?lang=en").text)
    assert "Support hours: Mon, Tue, Wed, Thu, Fri, 10:00–19:00 (Moscow time)" in english
    assert "17:00–02:00 in your time zone (Asia/Vladivostok)" in english  # Moscow is 7 hours behind
    now_open = env.runtime.mapping.policies.calendar.is_open(datetime.now(UTC))
    assert ("Support is working now." if now_open else "Support is not working now") in english
    russian = _block(env.client.get("/?lang=ru").text)
    assert "Часы работы поддержки: пн, вт, ср, чт, пт, 10:00–19:00" in russian


def test_round_the_clock_support_shows_no_hours(env) -> None:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load(default_yaml())
    doc.pop("calendar")  # no calendar: every minute counts
    publish_version(env.runtime, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), author="test")
    env.client.post("/login", data={"email": "customer1@example.com", "password": "correct horse battery"})
    assert _block(env.client.get("/?lang=en").text).strip() == ""
