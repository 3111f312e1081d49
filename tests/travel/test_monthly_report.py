"""The monthly report: its figures for a seeded month, its mail (once, through a real SMTP server), the opt-in."""

from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pydantic import SecretStr
from rq.cron import CronScheduler
from sqlalchemy import select

from sync.jobs import drain_notifications, register_cron, send_monthly_reports
from sync.models import NotificationPreference, OutgoingMail, User
from sync.reports.figures import Month, month_figures
from sync.reports.monthly import compose_report, due_month
from sync.runtime import Runtime
from tests.conftest import _empty_tables, make_settings
from tests.helpers import bearer, make_account
from tests.notify.conftest import smtp_url
from tests.portal.conftest import sign_in
from tests.travel.report_seed import EXPECTED, REPORT_RUN, msk, seed_october


@pytest.fixture
def any_runtime(tmp_path: Any, any_database_url: str, redis_url: str) -> Any:
    """A runtime on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (their date arithmetic differs)."""
    runtime = Runtime(make_settings(tmp_path, any_database_url, redis_url))
    yield runtime
    runtime.close()


def test_figures_of_a_seeded_month_match_the_hand_count(any_runtime: Any) -> None:
    runtime = any_runtime
    orgs = seed_october(runtime)
    with runtime.sessions() as db:
        got = month_figures(db, runtime.mapping, orgs["acme"], Month(2026, 10), ZoneInfo("Europe/Moscow"),
                            REPORT_RUN)
        in_utc = month_figures(db, runtime.mapping, orgs["acme"], Month(2026, 10), ZoneInfo("UTC"), REPORT_RUN)
    assert {k: got[k] for k in EXPECTED} == EXPECTED
    assert [w["key"] for w in got["waiting"]] == ["SUP-2"]
    assert got["waiting"][0]["since"] == msk(10, 12, 11, 30)
    history = {day["date"]: day for day in got["history"]}
    assert len(got["history"]) == 90 and got["history"][0]["date"] == "2026-08-03"
    assert got["history"][-1] == {"date": "2026-10-31", "opened": 0, "resolved": 0, "open": 2}
    assert history["2026-10-05"]["opened"] == 1 and history["2026-10-01"]["resolved"] == 1
    assert history["2026-09-28"] == {"date": "2026-09-28", "opened": 1, "resolved": 0, "open": 1}
    assert history["2026-10-21"]["resolved"] == 1 and history["2026-10-21"]["open"] == 2  # B and G
    # Read in UTC, E (1 November 01:00 in Moscow) was opened on 31 October.
    assert in_utc["opened"] == 5 and got["opened"] == 4


@pytest.mark.parametrize(("local", "due"), [
    ("2026-11-01T05:59", None), ("2026-11-01T06:00", "2026-10"), ("2026-11-03T23:00", "2026-10"),
    ("2026-11-04T06:00", None), ("2027-01-01T07:00", "2026-12"), ("2026-10-31T23:00", None),
])
def test_the_report_is_due_from_six_on_the_first_for_three_days(local: str, due: str | None) -> None:
    user = User(email="x@y", timezone="Asia/Tokyo")
    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Asia/Tokyo"))
    month = due_month(user, moment)
    assert (str(month) if month else None) == due


def test_the_month_parser_names_the_format() -> None:
    assert str(Month.parse("2026-01")) == "2026-01" and Month(2026, 12).next() == Month(2027, 1)
    for bad in ("2026-13", "2026-1", "26-01", "", "2026-01-01", "0000-01"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            Month.parse(bad)


def _mails(runtime: Any) -> dict[str, list[OutgoingMail]]:
    with runtime.sessions() as db:
        out: dict[str, list[OutgoingMail]] = {}
        for mail in db.scalars(select(OutgoingMail).where(OutgoingMail.kind == "monthly_report")):
            out.setdefault(mail.to_address, []).append(mail)
        return out


def test_the_monthly_mail_arrives_once_per_recipient_in_their_zone_and_language(client: Any, runtime: Any,
                                                                               smtp: Any) -> None:
    inbox, controller = smtp
    runtime.settings = runtime.settings.model_copy(update={
        "mail": runtime.settings.mail.model_copy(update={"smtp_url": SecretStr(smtp_url(controller))})})
    seed_october(runtime)
    # 06:30 in Moscow: the Moscow readers are due, the UTC admin (03:30 there) not yet.
    assert send_monthly_reports(runtime, now=REPORT_RUN.isoformat()) == {"reports": 2}
    assert send_monthly_reports(runtime, now=(REPORT_RUN + timedelta(minutes=30)).isoformat()) == {"reports": 0}
    drain_notifications(runtime)
    assert sorted(_mails(runtime)) == ["gina@globex.test", "viewer@acme.test"]
    later = REPORT_RUN + timedelta(hours=3)  # 06:30 UTC
    assert send_monthly_reports(runtime, now=later.isoformat()) == {"reports": 1}
    assert send_monthly_reports(runtime, now=(later + timedelta(days=1)).isoformat()) == {"reports": 0}
    drain_notifications(runtime)
    assert {k: len(v) for k, v in _mails(runtime).items()} == {"gina@globex.test": 1, "viewer@acme.test": 1,
                                                              "boss@acme.test": 1}
    assert len(inbox.to("viewer@acme.test")) == 1 and len(inbox.to("boss@acme.test")) == 1
    assert not inbox.to("alice@acme.test")  # customers have no monthly report

    viewer = inbox.to("viewer@acme.test")[0]
    assert str(viewer["Subject"]) == "Acme: заявки за октябрь 2026"
    text = str(viewer.get_body(("plain",)).get_content())
    for line in ("Создано: 4", "Решено: 3", "Медиана первого ответа: 2,5 раб. ч", "Медиана решения: 18 раб. ч",
                 "соблюдено: 1 · нарушено: 2", "[SUP-2] Send the logs B", "/summary/report?month=2026-10"):
        assert line in text, line
    assert "GLX" not in text and "Globex" not in text
    html_part = viewer.get_body(("html",))
    assert 'src="cid:chart"' in str(html_part.get_content())
    images = [part for part in viewer.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == "<chart>"
    assert Image.open(io.BytesIO(images[0].get_content())).size == (720, 208)
    boss = inbox.to("boss@acme.test")[0]
    assert str(boss["Subject"]) == "Acme: requests in October 2026"
    assert "Median resolution: 18 working h" in str(boss.get_body(("plain",)).get_content())
    gina = str(inbox.to("gina@globex.test")[0].get_body(("plain",)).get_content())
    assert "SUP-" not in gina and "Opened: 1" in gina  # Globex's own month only
    ids = [str(m["Message-ID"]) for m in inbox.messages]
    assert len(ids) == len(set(ids)) == 3

    # One click on the mail's List-Unsubscribe (RFC 8058) stops the report too: "no more e-mails" means all.
    unsubscribe = str(viewer["List-Unsubscribe"]).strip("<>")
    assert client.post(unsubscribe.split("127.0.0.1:5000", 1)[1]).status_code == 200
    with runtime.sessions() as db:
        viewer_id = db.scalar(select(User.id).where(User.email == "viewer@acme.test"))
        assert db.get(NotificationPreference, viewer_id).monthly_report is False

    cron = CronScheduler(connection=runtime.redis)
    register_cron(cron, runtime.settings)
    jobs = [job for job in cron.get_jobs() if job.func is send_monthly_reports]
    assert len(jobs) == 1 and jobs[0].cron == "7 * * * *" and jobs[0].queue_name == "maintenance"


def test_opting_in_is_for_organisation_readers(client: Any, runtime: Any) -> None:
    viewer = make_account(runtime, "viewer@acme.test", "org_viewer", "acme")
    customer = make_account(runtime, "alice@acme.test", "customer", "acme")
    got = client.get("/api/v1/me/notifications", headers=bearer(viewer)).get_json()
    assert got["monthly_report"] is False and got["email"] == "instant"
    put = client.put("/api/v1/me/notifications", json={"monthly_report": True}, headers=bearer(viewer))
    assert put.status_code == 200 and put.get_json()["monthly_report"] is True
    assert put.get_json()["email"] == "instant"  # the other choices are untouched
    wrong = client.put("/api/v1/me/notifications", json={"monthly_report": "yes"}, headers=bearer(viewer))
    assert wrong.status_code == 400 and "monthly_report" in wrong.get_json()["error"]
    refused = client.put("/api/v1/me/notifications", json={"monthly_report": True}, headers=bearer(customer))
    assert refused.status_code == 400 and "monthly_report" in refused.get_json()["error"]
    assert client.put("/api/v1/me/notifications", json={"monthly_report": False},
                      headers=bearer(customer)).status_code == 200


def test_the_settings_page_offers_the_report_to_readers_only(client: Any, runtime: Any) -> None:
    make_account(runtime, "viewer@acme.test", "org_viewer", "acme")
    make_account(runtime, "alice@acme.test", "customer", "acme")
    sign_in(client, "viewer@acme.test")
    assert 'name="monthly_report"' in client.get("/account/notifications").get_data(as_text=True)
    client.post("/account/notifications", data={"email": "daily", "locale": "en",
                                                "monthly_report": ["false", "true"]})
    with runtime.sessions() as db:
        viewer = db.scalar(select(User.id).where(User.email == "viewer@acme.test"))
        row = db.get(NotificationPreference, viewer)
        assert (row.monthly_report, row.email.value) == (True, "daily")
    client.post("/account/notifications", data={"email": "daily", "locale": "en", "monthly_report": "false"})
    with runtime.sessions() as db:
        assert db.get(NotificationPreference, viewer).monthly_report is False
    client.post("/logout")
    sign_in(client, "alice@acme.test")
    assert 'name="monthly_report"' not in client.get("/account/notifications").get_data(as_text=True)


def test_the_printable_page_is_the_organisations_own(client: Any, runtime: Any) -> None:
    seed_october(runtime)
    sign_in(client, "viewer@acme.test")
    page = client.get("/summary/report?month=2026-10")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<dd id="fig-opened">4</dd>' in html and "SUP-2" in html and "GLX" not in html
    bad = client.get("/summary/report?month=2026-13")
    assert bad.status_code == 400 and "month" in bad.get_data(as_text=True)
    assert client.get("/summary/report").status_code == 200  # the month that just ended
    client.post("/logout")
    sign_in(client, "alice@acme.test")
    assert client.get("/summary/report?month=2026-10").status_code == 404  # customers have no organisation view
    client.post("/logout")
    sign_in(client, "gina@globex.test")
    globex = client.get("/summary/report?month=2026-10").get_data(as_text=True)
    assert '<dd id="fig-opened">1</dd>' in globex and "SUP-" not in globex


def _race_two_composes(runtime: Runtime) -> None:
    """The first run holds its stored report uncommitted; the second, past its look-up, must wait for that
    commit on the unique Message-ID and then store nothing (no error, no second mail)."""
    seed_october(runtime)
    with runtime.sessions() as db:
        viewer = db.scalar(select(User.id).where(User.email == "viewer@acme.test"))
    results: list[Any] = []
    first = runtime.sessions()
    first.begin()
    results.append(compose_report(first, runtime.settings, runtime.mapping, viewer, Month(2026, 10), REPORT_RUN))

    def second() -> None:  # passes the look-up (the first is not committed), then waits on the unique index
        try:
            with runtime.sessions() as db, db.begin():
                results.append(compose_report(db, runtime.settings, runtime.mapping, viewer, Month(2026, 10),
                                              REPORT_RUN))
        except Exception as error:  # a busy or duplicate-key error: the assertion below shows it
            results.append(error)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive()  # blocked behind the first one's uncommitted row
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert results[0] is not None and results[1] is None, results
    assert len(_mails(runtime)["viewer@acme.test"]) == 1


def test_two_runs_racing_store_one_report(tmp_path: Any, postgres_url: str, redis_url: str) -> None:
    """Two schedulers composing the same report at once on PostgreSQL."""
    _empty_tables(postgres_url)
    runtime = Runtime(make_settings(tmp_path, postgres_url, redis_url))
    try:
        _race_two_composes(runtime)
    finally:
        runtime.close()


def test_two_runs_racing_on_sqlite_store_one_report(tmp_path: Any, database_url: str, redis_url: str) -> None:
    """The same race on SQLite: the second writer waits for the first's commit (WAL, busy timeout) and its
    INSERT … ON CONFLICT DO NOTHING then skips the row, instead of failing on a busy or duplicate-key error."""
    runtime = Runtime(make_settings(tmp_path, database_url, redis_url))
    try:
        _race_two_composes(runtime)
    finally:
        runtime.close()
