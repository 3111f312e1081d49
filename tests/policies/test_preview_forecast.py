"""The mapping editor's preview tells what the proposal's automatic rules would do: requests closed at
once and more within the week, counted from the tickets' real clocks (no run happens, nothing changes)."""

from __future__ import annotations

from datetime import timedelta

import yaml
from sqlalchemy import func, select, update

from mappings import default_yaml
from sync.models import OutboxAction, PolicyEvent, StatusHistory, Ticket, utcnow

HOUR = timedelta(hours=1)


def _waiting(env, summary: str) -> str:  # type: ignore[no-untyped-def]
    key = env.raise_request(summary=summary)
    env.sandbox_post(f"/_sandbox/requests/{key}/transition", {"status": "Waiting for Customer"})
    env.sync_in()
    return key


def _entered_at(env, key: str, at) -> None:  # type: ignore[no-untyped-def]
    """Move the request's last status change back in time (as if it had waited that long)."""
    with env.runtime.sessions() as db, db.begin():
        ticket_id = db.scalar(select(Ticket.id).where(Ticket.key == key))
        last = db.scalar(select(func.max(StatusHistory.id)).where(StatusHistory.ticket_id == ticket_id))
        db.execute(update(StatusHistory).where(StatusHistory.id == last).values(at=at))
        db.execute(update(StatusHistory).where(StatusHistory.ticket_id == ticket_id, StatusHistory.id < last)
                   .values(at=at - timedelta(days=1)))  # the earlier statuses came before it


def test_preview_counts_requests_closed_now_and_this_week(env) -> None:  # type: ignore[no-untyped-def]
    cal = env.runtime.mapping.policies.calendar
    now = utcnow()
    long_ago, soon = (_waiting(env, s) for s in ("Long forgotten", "Due this week"))
    in_work = env.raise_request(summary="Support is on it")  # no rule applies to an open request
    _entered_at(env, long_ago, now - timedelta(days=40))
    start = now - timedelta(days=30)  # the latest start whose 40 working hours end after now: due within hours
    while cal.add_working_hours(start, 40) <= now + HOUR:
        start += HOUR
    _entered_at(env, soon, start)

    doc = yaml.safe_load(default_yaml())
    proposal_rules = {r["name"]: r for r in doc["policies"]}
    for rule in doc["policies"]:
        rule["enabled"] = True
    body = env.client.post("/api/v1/mapping/preview", json={"document": doc}, headers=env.headers("admin"))
    assert body.status_code == 200, body.text
    forecast = body.json["policies"]
    assert forecast["closes_now"] == 1  # the forgotten one: 40 working hours are long past
    assert forecast["closes_this_week"] == 1  # the other is due within the week; the open one never
    # The one due this week is reminded now; the forgotten one is closed instead (no pointless reminder).
    assert forecast["reminds_now"] == 1 and forecast["reminds_this_week"] == 0
    assert proposal_rules["await-closure"]["after_working_hours"] == 40  # what the clocks above assume
    assert env.ticket(in_work).customer_status != "awaiting_customer"

    # As published now (rules off in the seed), nothing would happen; and the preview itself did nothing.
    current = env.client.post("/api/v1/mapping/preview", json={"document": yaml.safe_load(default_yaml())},
                              headers=env.headers("admin")).json["policies"]
    assert current == {"closes_now": 0, "closes_this_week": 0, "reminds_now": 0, "reminds_this_week": 0}
    with env.runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(PolicyEvent)) == 0
        assert db.scalar(select(func.count()).select_from(OutboxAction)) == 0


def test_the_editors_preview_says_what_the_rules_would_do_in_both_languages(env) -> None:  # type: ignore[no-untyped-def]
    _entered_at(env, _waiting(env, "Long forgotten"), utcnow() - timedelta(days=40))
    doc = yaml.safe_load(default_yaml())
    for rule in doc["policies"]:
        rule["enabled"] = True
    env.client.post("/login", data={"email": "admin@companion.test", "password": "correct horse battery"})
    english = env.client.post("/admin/mapping/preview?lang=en", json={"document": doc})
    assert english.status_code == 200, english.text
    assert "Requests its automatic rules would close: 1 now, 0 more within the week." in english.text
    russian = env.client.post("/admin/mapping/preview?lang=ru", json={"document": doc}).text
    assert "Обращения, которые закроют её автоматические правила: 1 сейчас, ещё 0 в течение недели." in russian
