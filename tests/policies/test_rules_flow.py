"""The seed's rules end to end against the stand-in JSM: 32 working hours in "Waiting for Customer" → one
reminder, 40 → one move to awaiting closure in JSM with the comment, 40 more → closed; a customer reply
restarts the clock; `policies run --dry-run` lists exactly what the real run then does."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from app.cli.policies import run_policies_command
from sync.models import (
    Comment,
    MailState,
    NotificationEvent,
    NotificationKind,
    OutboxAction,
    OutgoingMail,
    PolicyEvent,
    StatusHistory,
    Ticket,
    User,
)
from sync.policies.run import due, run
from tests.notify.conftest import mail_env, notify
from tests.policies.conftest import enable_rules, move_sandbox_clock_to

MINUTE = timedelta(minutes=1)


def _entered(env, key: str) -> datetime:  # type: ignore[no-untyped-def]
    with env.runtime.sessions() as db:
        ticket = db.scalars(select(Ticket).where(Ticket.key == key)).one()
        return db.scalar(select(func.max(StatusHistory.at)).where(StatusHistory.ticket_id == ticket.id))


def _lines(env, now: datetime) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.line() for f in due(env.runtime, now)]


def _run(env, now: datetime) -> list[str]:  # type: ignore[no-untyped-def]
    """A real run at `now` whose JSM writes happen at the same time on the stand-in's clock."""
    move_sandbox_clock_to(env, now)
    done = [f.line() for f in run(env.runtime, now).acted]
    env.push_all()
    return done


def _waiting(env) -> str:  # type: ignore[no-untyped-def]
    key = env.raise_request(summary="The export stopped working")
    env.sandbox_post(f"/_sandbox/requests/{key}/transition",
                     {"status": "Waiting for Customer", "comment": "Which version do you use?"})
    env.sync_in()
    return key


def _reminder_mails(env, inbox) -> list[str]:  # type: ignore[no-untyped-def]
    """Drain the notifications (as the worker does) and return the reminder texts the SMTP server got."""
    notify(env, later=True)
    return [m.get_body(("plain",)).get_content() for m in inbox.to("customer1@example.com")
            if "Поддержка ждёт вашего ответа" in m.get_body(("plain",)).get_content()]


def test_remind_then_await_closure_then_close(make_env, database_url, smtp, capsys) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    with env.runtime.sessions() as db, db.begin():  # the reminder comes in the customer's language
        db.execute(update(User).where(User.email == "customer1@example.com").values(locale="ru"))
    enable_rules(env.runtime)
    cal = env.runtime.mapping.policies.calendar
    key = _waiting(env)
    t0 = _entered(env, key)
    t32, t40 = cal.add_working_hours(t0, 32), cal.add_working_hours(t0, 40)
    assert (t40 - t0) > timedelta(hours=40 + 2 * 15)  # nights (and any weekend) do not count

    assert _lines(env, t32 - MINUTE) == []
    assert _lines(env, t32 + MINUTE) == [f"{key} nudge remind"]
    assert _run(env, t32 + MINUTE) == [f"{key} nudge remind"]
    assert _run(env, t32 + 2 * MINUTE) == []  # once
    # The reminder is recorded once in the notification outbox and delivered once over real SMTP.
    with env.runtime.sessions() as db:
        reminders = list(db.scalars(select(NotificationEvent).where(
            NotificationEvent.kind == NotificationKind.REMINDER)))
        assert [r.details["rule"] for r in reminders] == ["nudge"]
        assert "прошло 32 рабочих часов" in reminders[0].details["message"]["ru"]
    texts = _reminder_mails(env, inbox)
    assert len(texts) == 1 and "прошло 32 рабочих часов" in texts[0], [m["Subject"] for m in inbox.messages]
    assert _reminder_mails(env, inbox) == texts  # a second drain sends nothing more
    with env.runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(OutgoingMail).where(
            OutgoingMail.state == MailState.SENT, OutgoingMail.user_id == db.scalar(
                select(User.id).where(User.email == "customer1@example.com")))) >= 1

    # The dry run through the command line lists exactly what the real run then does.
    at = (t40 + MINUTE).isoformat()
    assert run_policies_command(env.settings, now=at, dry_run=True, as_json=False) == 0
    listed = capsys.readouterr().out.split("\n")[:-1]
    assert listed == [f"{key} await-closure resolve"]
    assert _run(env, t40 + MINUTE) == listed
    state = env.sandbox_state()["requests"][key]
    assert state["status"] == "Resolved"
    # In the customer's language, as the reminder was.
    assert any("автоматически: 40 рабочих часов без ответа" in c["body"] for c in state["public_comments"])
    assert env.ticket(key).customer_status == "resolved"
    assert _run(env, t40 + 2 * MINUTE) == []

    resolved_at = _entered(env, key)
    t80 = cal.add_working_hours(resolved_at, 40)
    assert _lines(env, t80 - MINUTE) == []
    assert _run(env, t80 + MINUTE) == [f"{key} auto-close close"]
    state = env.sandbox_state()["requests"][key]
    assert state["status"] == "Closed"
    assert any(c["body"].startswith("Закрыто автоматически: 40 рабочих часов") for c in state["public_comments"])
    with env.runtime.sessions() as db:
        # Each JSM action once, each an ordinary echo: the comment is linked, not duplicated.
        assert db.scalar(select(func.count()).select_from(OutboxAction)) == 2
        assert [e.rule for e in db.scalars(select(PolicyEvent).order_by(PolicyEvent.id))] == \
            ["nudge", "await-closure", "auto-close"]
        bodies = [c.body for c in db.scalars(select(Comment).where(Comment.ticket_id == env.ticket(key).id))]
        assert sum("автоматически" in b for b in bodies) == 2
        assert all(c.jira_id for c in db.scalars(select(Comment)))
    assert env.ticket(key).customer_status == "closed"


def test_a_customer_reply_restarts_the_clock(env) -> None:  # type: ignore[no-untyped-def]
    enable_rules(env.runtime)
    cal = env.runtime.mapping.policies.calendar
    key = _waiting(env)
    t0 = _entered(env, key)
    t32, t40 = cal.add_working_hours(t0, 32), cal.add_working_hours(t0, 40)
    assert _run(env, t32 + MINUTE) == [f"{key} nudge remind"]
    # The customer answers (in JSM, as an e-mail reply would) without the status changing.
    replied = cal.add_working_hours(t0, 35)
    move_sandbox_clock_to(env, replied)
    env.sandbox_post(f"/_sandbox/requests/{key}/comment",
                     {"body": "Version 2.4, sorry for the delay", "as": "customer1@example.com"})
    env.sync_in()
    assert env.ticket(key).customer_status == "awaiting_customer"
    assert _lines(env, t40 + MINUTE) == []  # the clock restarted at the reply
    with env.runtime.sessions() as db:
        reply_at = db.scalar(select(func.max(Comment.created_at)).where(Comment.from_support.is_(False)))
    assert _lines(env, cal.add_working_hours(reply_at, 32) + MINUTE) == [f"{key} nudge remind"]
    assert _lines(env, cal.add_working_hours(reply_at, 40) + MINUTE) == [f"{key} await-closure resolve"]


def test_rules_shipped_disabled_do_nothing(env) -> None:  # type: ignore[no-untyped-def]
    key = _waiting(env)
    assert key and _lines(env, _entered(env, key) + timedelta(days=60)) == []
