"""Daily digests at a fixed `now`: at the digest hour in each user's zone, once a day, in their language, in scope."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from rq.cron import CronScheduler
from sqlalchemy import select, update

from sync.jobs import drain_notifications, register_cron, send_digests
from sync.models import EmailMode, NotificationPreference, Organization, OutgoingMail, User
from tests.helpers import make_account
from tests.notify.conftest import smtp_url
from tests.portal.conftest import _ticket

# 05:30 UTC is 08:30 in Moscow (the digest hour, 8, has come there) and not yet 8 in UTC.
FIXED = datetime(2026, 3, 2, 5, 30, tzinfo=UTC)


def _seed(runtime: Any) -> None:
    make_account(runtime, "alice@acme.test", "customer", "acme")
    make_account(runtime, "viewer@acme.test", "org_viewer", "acme")
    make_account(runtime, "instant@acme.test", "customer", "acme")
    make_account(runtime, "gina@globex.test", "org_viewer", "globex")
    with runtime.sessions() as db, db.begin():
        orgs = {o.slug: o.id for o in db.scalars(select(Organization))}
        db.add_all([
            _ticket(orgs["acme"], 1, "SUP-1", summary="New printer", customer_status="open",
                    created_at=FIXED - timedelta(hours=2)),
            _ticket(orgs["acme"], 2, "SUP-2", summary="Send us the logs", customer_status="awaiting_customer",
                    created_at=FIXED - timedelta(days=5), jira_updated_at=FIXED - timedelta(days=1)),
            _ticket(orgs["acme"], 3, "SUP-3", summary="VPN fixed", customer_status="resolved", bucket="resolved",
                    reporter_email="viewer@acme.test", created_at=FIXED - timedelta(days=9),
                    resolved_at=FIXED - timedelta(hours=3)),
            _ticket(orgs["acme"], 4, "SUP-4", summary="Long ago", customer_status="closed", bucket="closed",
                    created_at=FIXED - timedelta(days=30), resolved_at=FIXED - timedelta(days=10)),
            _ticket(orgs["globex"], 5, "GLX-1", summary="Globex secret", reporter_email="gina@globex.test",
                    created_at=FIXED - timedelta(hours=1)),
        ])
        users = {u.email: u for u in db.scalars(select(User))}
        users["alice@acme.test"].timezone, users["alice@acme.test"].locale = "Europe/Moscow", "ru"
        for address in ("alice@acme.test", "viewer@acme.test"):
            db.add(NotificationPreference(user_id=users[address].id, email=EmailMode.DAILY))


def _digests(runtime: Any) -> dict[str, email.message.EmailMessage]:
    with runtime.sessions() as db:
        return {m.to_address: email.message_from_string(m.raw, policy=email.policy.default)  # type: ignore[misc]
                for m in db.scalars(select(OutgoingMail).where(OutgoingMail.kind.in_(("digest", "org_digest"))))}


def _text(mail: Any) -> str:
    return str(mail.get_body(("plain",)).get_content())


def test_digest_at_the_users_hour_in_their_language_once_a_day(runtime: Any) -> None:
    _seed(runtime)
    assert send_digests(runtime, now=FIXED.isoformat()) == {"digests": 1}  # only Moscow's hour has come
    mails = _digests(runtime)
    assert list(mails) == ["alice@acme.test"]
    alice = _text(mails["alice@acme.test"])
    assert mails["alice@acme.test"]["Subject"] == "Ваши заявки за день"
    assert "Новые заявки (1)" in alice and "[SUP-1] New printer" in alice
    assert "Ждут вашего ответа (1)" in alice and "[SUP-2] Send us the logs" in alice
    assert "Решённые" not in alice  # SUP-3 is the viewer's, outside a customer's own requests
    assert "SUP-4" not in alice and "GLX-1" not in alice
    assert "/tickets/SUP-1" in alice and mails["alice@acme.test"]["List-Unsubscribe"]
    assert send_digests(runtime, now=(FIXED + timedelta(hours=1)).isoformat()) == {"digests": 0}  # once a day

    at_eight_utc = FIXED.replace(hour=8, minute=10)
    assert send_digests(runtime, now=at_eight_utc.isoformat()) == {"digests": 1}
    viewer_mail = _digests(runtime)["viewer@acme.test"]
    viewer = _text(viewer_mail)
    assert viewer_mail["Subject"] == "Your organisation's requests today"
    assert "New requests (1)" in viewer and "Waiting for you (1)" in viewer and "Resolved (1)" in viewer
    assert "[SUP-3] VPN fixed" in viewer and "GLX-1" not in viewer and "SUP-4" not in viewer
    assert "instant@acme.test" not in _digests(runtime)  # instant users get no digest
    assert send_digests(runtime, now=(FIXED + timedelta(days=1)).isoformat()) == {"digests": 1}  # the next day


def test_a_quiet_day_sends_nothing_and_a_deactivated_user_none(runtime: Any) -> None:
    _seed(runtime)
    with runtime.sessions() as db, db.begin():
        db.execute(update(User).where(User.email == "viewer@acme.test").values(active=False))
    quiet = FIXED + timedelta(days=20)  # nothing new or resolved; SUP-2 still waits for Alice
    assert send_digests(runtime, now=quiet.replace(hour=9).isoformat()) == {"digests": 1}
    assert list(_digests(runtime)) == ["alice@acme.test"]
    with runtime.sessions() as db, db.begin():
        db.execute(update(User).values(locale="en"))
        db.execute(update(User).where(User.email == "alice@acme.test").values(timezone="Not/AZone"))
    assert send_digests(runtime, now=(quiet + timedelta(days=1)).replace(hour=9).isoformat()) == {"digests": 1}


def test_digest_reaches_the_smtp_server_and_the_cron_entry_exists(runtime: Any, smtp: Any) -> None:
    inbox, controller = smtp
    runtime.settings = runtime.settings.model_copy(update={
        "mail": runtime.settings.mail.model_copy(update={"smtp_url": SecretStr(smtp_url(controller))})})
    _seed(runtime)
    send_digests(runtime, now=FIXED.isoformat())
    drain_notifications(runtime)
    assert [str(m["Subject"]) for m in inbox.to("alice@acme.test")] == ["Ваши заявки за день"]

    cron = CronScheduler(connection=runtime.redis)
    register_cron(cron, runtime.settings)
    digests = [job for job in cron.get_jobs() if job.func is send_digests]
    assert len(digests) == 1 and digests[0].cron == "2 * * * *" and digests[0].queue_name == "maintenance"
