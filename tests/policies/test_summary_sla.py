"""The summary's SLA results: met and breached per month as the stand-in's own SLA answers decide them,
and the median first response in working hours; in the API, on the page (both languages), JSM-free."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import select

from app.services.scope import visible_tickets
from app.services.summary import build_summary
from sync.jobs import refresh_slas
from sync.models import Ticket, User
from tests.policies.conftest import move_sandbox_clock_to, sandbox_now


def _jsm_outcomes(env, key: str, now: datetime) -> Counter[tuple[str, bool]]:  # type: ignore[no-untyped-def]
    """(month, breached) of every decided cycle, read straight from the stand-in's SLA answer."""
    response = requests.get(f"{env.sb.url}/rest/servicedeskapi/request/{key}/sla",
                            auth=(env.sb.email, env.sb.token), timeout=10)
    out: Counter[tuple[str, bool]] = Counter()
    for metric in response.json()["values"]:
        for cycle in metric["completedCycles"]:
            stop = datetime.fromtimestamp(cycle["stopTime"]["epochMillis"] / 1000, UTC)
            out[(stop.strftime("%Y-%m"), cycle["breached"])] += 1
        ongoing = metric.get("ongoingCycle")
        if ongoing and not ongoing["paused"] and "breachTime" in ongoing:
            breach = datetime.fromtimestamp(ongoing["breachTime"]["epochMillis"] / 1000, UTC)
            if breach <= now:
                out[(breach.strftime("%Y-%m"), True)] += 1
    return out


def test_met_and_breached_per_month_and_median_first_response(env) -> None:  # type: ignore[no-untyped-def]
    quick = env.raise_request(summary="Quick question", request_type="11")
    slow = env.raise_request(summary="Forgotten one", request_type="11")
    env.sandbox_post(f"/_sandbox/requests/{quick}/comment", {"body": "Here you go", "public": True})
    env.sandbox_post(f"/_sandbox/requests/{quick}/transition", {"status": "Resolved"})
    env.sync_in()
    move_sandbox_clock_to(env, sandbox_now(env) + timedelta(days=14))  # every running goal breached
    env.sandbox_post(f"/_sandbox/requests/{slow}/transition", {"status": "Resolved"})
    running = env.raise_request(summary="Just raised", request_type="11")  # in time: neither yet
    env.sync_in()
    refresh_slas(env.runtime, [quick, slow, running])
    now = sandbox_now(env)

    expected: Counter[tuple[str, bool]] = Counter()
    for key in (quick, slow, running):
        expected += _jsm_outcomes(env, key, now)
    assert expected[(slow_month := now.strftime("%Y-%m"), True)] >= 2  # the forgotten one breached both
    assert sum(n for (_, late), n in expected.items() if not late) == 2  # the quick one met both

    with env.runtime.sessions() as db:
        viewer = db.scalars(select(User).where(User.email == "viewer@acme.test")).one()  # the organisation's
        data = build_summary(db, visible_tickets(viewer, "org"), env.runtime.mapping, "en", UTC, now=now)
        tickets = {t.key: t for t in db.scalars(select(Ticket))}
    sla = data["sla"]
    assert len(sla["months"]) == 6 and sla["months"][-1]["month"] == slow_month
    got = Counter()
    for row in sla["months"]:
        got[(row["month"], False)] += row["met"]
        got[(row["month"], True)] += row["breached"]
    assert +got == +expected
    # Only the quick one was answered: its first response in the mapping's working hours.
    cal = env.runtime.mapping.policies.calendar
    answered = tickets[quick]
    assert answered.first_response_at is not None and tickets[slow].first_response_at is None
    assert sla["sample"] == 1
    assert sla["median_first_response_working_hours"] == cal.working_hours(answered.created_at,
                                                                           answered.first_response_at)


def test_summary_api_and_page_show_the_sla_results(env) -> None:  # type: ignore[no-untyped-def]
    env.raise_request(summary="Payments are down", request_type="11")
    body = env.client.get("/api/v1/summary", headers=env.headers("alice")).get_json()
    assert [set(m) for m in body["sla"]["months"]] == [{"month", "met", "breached"}] * 6
    assert body["sla"]["median_first_response_working_hours"] is None and body["sla"]["sample"] == 0
    env.client.post("/login", data={"email": "customer1@example.com", "password": "correct horse battery"})
    assert "Median first response, working hours" in env.client.get("/summary?lang=en").text
    russian = env.client.get("/summary?lang=ru").text
    assert "Сроки обслуживания" in russian and "Медиана первого ответа, рабочих часов" in russian
