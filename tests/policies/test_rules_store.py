"""Automatic rules on the store alone: weekends and holidays do not count, and a run killed mid-way acts once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from sync.models import OutboxAction, PolicyEvent, StatusHistory, Ticket
from sync.policies.run import due, run
from tests.conftest import REPO_ROOT
from tests.policies.conftest import enable_rules

MSK = ZoneInfo("Europe/Moscow")


def _ticket(runtime, key: str, status: str, entered: datetime) -> int:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        ticket = Ticket(jira_id=key.split("-")[1], key=key, project_key="SUP", customer_status=status,
                        customer_priority="medium", bucket="open" if status != "resolved" else "resolved",
                        created_at=entered - timedelta(hours=1), jira_updated_at=entered,
                        jira_status_name="Waiting for Customer", reporter_email="customer1@example.com")
        db.add(ticket)
        db.flush()
        db.add(StatusHistory(ticket_id=ticket.id, customer_status="open", at=entered - timedelta(hours=1)))
        db.add(StatusHistory(ticket_id=ticket.id, customer_status=status, at=entered))
        return ticket.id


def test_weekend_and_holidays_do_not_count(runtime) -> None:  # type: ignore[no-untyped-def]
    enable_rules(runtime)
    # Wednesday 7 May 2025, 10:00 Moscow; 8 May (a moved day off), 9 May (Victory Day) and the weekend
    # are not working days, so 32 working hours are 9 + 9 + 9 + 5: Wednesday 14 May, 15:00.
    _ticket(runtime, "SUP-1", "awaiting_customer", datetime(2025, 5, 7, 10, 0, tzinfo=MSK))
    due_at = datetime(2025, 5, 14, 15, 0, tzinfo=MSK)
    assert [f.line() for f in due(runtime, due_at - timedelta(minutes=1))] == []
    assert [f.line() for f in due(runtime, due_at + timedelta(minutes=1))] == ["SUP-1 nudge remind"]
    # 40 hours: Thursday 15 May 14:00; at 60 days only the action is due (the reminder would be pointless).
    assert [f.line() for f in due(runtime, datetime(2025, 5, 15, 14, 1, tzinfo=MSK))] == \
        ["SUP-1 await-closure resolve"]
    assert [f.rule for f in due(runtime, due_at + timedelta(days=60))] == ["await-closure"]


def test_a_ticket_whose_entry_we_never_saw_is_left_alone(runtime) -> None:  # type: ignore[no-untyped-def]
    enable_rules(runtime)
    ticket_id = _ticket(runtime, "SUP-2", "awaiting_customer", datetime(2025, 5, 7, 10, 0, tzinfo=MSK))
    with runtime.sessions() as db, db.begin():
        db.get(Ticket, ticket_id).customer_status = "on_hold"  # e.g. re-projected under a new mapping
    assert due(runtime, datetime(2026, 1, 1, tzinfo=UTC)) == []


def _env_for(runtime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    s = runtime.settings
    out = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    out.update(COMPANION_DATABASE_URL=s.effective_database_url, COMPANION_REDIS_URL=s.redis_url,
               COMPANION_DATA_DIR=str(s.data_dir), COMPANION_SECRET_KEY="test")
    return out


def test_a_run_killed_mid_way_acts_once(runtime) -> None:  # type: ignore[no-untyped-def]
    enable_rules(runtime)
    entered = datetime(2025, 5, 5, 10, 0, tzinfo=MSK)
    for n in (1, 2, 3):
        _ticket(runtime, f"SUP-{n}", "awaiting_customer", entered)
    now = datetime(2025, 6, 2, tzinfo=UTC)
    # Hold SQLite's write lock, so the real `companion policies run` blocks on its first firing's commit
    # (it reads and evaluates freely under WAL), then SIGKILL it there: mid-way, nothing committed.
    path = runtime.settings.effective_database_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    proc = subprocess.Popen([sys.executable, "-m", "app", "policies", "run", "--now", now.isoformat()],
                            cwd=REPO_ROOT, env=_env_for(runtime), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(6)  # start-up and evaluation; the process then waits up to 30 s for the lock
        assert proc.poll() is None, f"policies run exited early ({proc.returncode})"
        proc.kill()
        proc.wait(10)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(PolicyEvent)) == 0
    # The next run does it, once per ticket; one more run does nothing.
    assert sorted(f.line() for f in run(runtime, now).acted) == [f"SUP-{n} await-closure resolve" for n in (1, 2, 3)]
    assert run(runtime, now).acted == []
    with runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(OutboxAction)) == 3
        assert db.scalar(select(func.count()).select_from(PolicyEvent)) == 3
