"""Notification history is kept 90 days; failed, uncertain and unsent mails, and waiting changes, are kept."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from rq.cron import CronScheduler
from sqlalchemy import select

from sync.jobs import prune_notifications, register_cron
from sync.models import (
    MailState,
    Notification,
    NotificationEvent,
    NotificationKind,
    NotificationState,
    OutgoingMail,
    utcnow,
)
from tests.portal.conftest import alice_with_a_request

OLD = utcnow() - timedelta(days=91)
RECENT = utcnow() - timedelta(days=89)


def _history(runtime: Any) -> dict[str, int]:
    """One mailed change per case, old or recent, with its mail in the given state."""
    user_id, email, ticket_id = alice_with_a_request(runtime)
    cases = {"old sent": (OLD, MailState.SENT), "recent sent": (RECENT, MailState.SENT),
             "old failed": (OLD, MailState.FAILED), "old uncertain": (OLD, MailState.UNCERTAIN),
             "old pending": (OLD, MailState.PENDING)}
    ids = {}
    with runtime.sessions() as db, db.begin():
        for n, (name, (at, state)) in enumerate(cases.items()):
            mail = OutgoingMail(user_id=user_id, to_address=email, kind="update", ticket_id=ticket_id,
                                message_id=f"<{n}@test>", state=state, raw="x", created_at=at)
            event = NotificationEvent(kind=NotificationKind.STATUS, ticket_id=ticket_id, details={}, created_at=at,
                                      fanned_out=True)
            db.add_all([mail, event])
            db.flush()
            db.add(Notification(event_id=event.id, user_id=user_id, ticket_id=ticket_id, not_before=at,
                                state=NotificationState.MAILED, mail_id=mail.id))
            ids[name] = mail.id
        waiting = NotificationEvent(kind=NotificationKind.COMMENT, ticket_id=ticket_id, details={}, created_at=OLD,
                                    fanned_out=True)
        db.add(waiting)
        db.flush()
        db.add(Notification(event_id=waiting.id, user_id=user_id, ticket_id=ticket_id, not_before=OLD,
                            state=NotificationState.PENDING))
        ids["waiting event"] = waiting.id
    return ids


def test_old_sent_mails_and_their_facts_go_the_rest_stays(runtime: Any) -> None:
    ids = _history(runtime)
    mail_dir = runtime.settings.data_dir / "mail"
    mail_dir.mkdir(parents=True, exist_ok=True)
    (mail_dir / "old.eml").write_text("x")
    (mail_dir / "new.eml").write_text("x")
    os.utime(mail_dir / "old.eml", (OLD.timestamp(), OLD.timestamp()))

    assert prune_notifications(runtime) == {"facts": 4, "mails": 1, "files": 1}
    with runtime.sessions() as db:
        kept = {m.id for m in db.scalars(select(OutgoingMail))}
        assert kept == {ids["recent sent"], ids["old failed"], ids["old uncertain"], ids["old pending"]}
        # The pending mail's change is gone with its fact, the mail itself still goes out.
        assert db.get(NotificationEvent, ids["waiting event"]) is not None  # a change still to be mailed stays
        assert len(db.scalars(select(Notification)).all()) == 2  # the recent one's and the waiting one
    assert sorted(p.name for p in mail_dir.iterdir()) == ["new.eml"]
    assert prune_notifications(runtime) == {"facts": 0, "mails": 0, "files": 0}


def test_the_prune_runs_daily(runtime: Any) -> None:
    cron = CronScheduler(connection=runtime.redis)
    register_cron(cron, runtime.settings)
    prunes = [job for job in cron.get_jobs() if job.func is prune_notifications]
    assert len(prunes) == 1 and prunes[0].cron == "47 3 * * *" and prunes[0].queue_name == "maintenance"
