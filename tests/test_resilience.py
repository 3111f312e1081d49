"""Nothing is lost: Redis away at webhook time, database away, a worker killed mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, select, text

from sync.models import InboundEvent, Ticket
from sync.runtime import Runtime
from tests.conftest import REPO_ROOT, make_settings
from tests.helpers import drain, issue_payload, post_webhook

DEAD_REDIS = "redis://127.0.0.1:1/0"


def worker_env(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    env.update(COMPANION_DATABASE_URL=settings.effective_database_url, COMPANION_REDIS_URL=settings.redis_url,
               COMPANION_DATA_DIR=str(settings.data_dir), COMPANION_SECRET_KEY="test")
    return env


def pending_rows(runtime) -> list[str]:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db:
        return list(db.scalars(select(InboundEvent.delivery_id).where(InboundEvent.state == "pending")))


def test_webhook_accepted_while_redis_is_down_is_applied_when_it_returns(tmp_path: Path, any_database_url: str,
                                                                         redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    from app import create_app
    from sync.jobs import sweep

    down = create_app(make_settings(tmp_path, any_database_url, DEAD_REDIS), {"TESTING": True})
    started = time.monotonic()
    response = post_webhook(down.test_client(), issue_payload(), delivery_id="during-outage")
    assert response.status_code == 202, response.json
    assert time.monotonic() - started < 10, "an unreachable Redis must fail fast, not hang the request"
    assert pending_rows(down.extensions["companion"]) == ["during-outage"]

    # Redis is back: the sweeper (RQ cron) finds the pending row and enqueues a drain.
    runtime = Runtime(make_settings(tmp_path, any_database_url, redis_url))
    assert sweep(runtime) == {"inbox_pending": 1}
    assert redis_client.llen("rq:queue:inbound") == 1
    drain(runtime)
    with runtime.sessions() as db:
        assert db.scalars(select(Ticket.key)).all() == ["SUP-1"]


def test_database_down_answers_503_so_jira_retries(tmp_path: Path, redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    from app import create_app

    down = create_app(make_settings(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none", redis_url),
                      {"TESTING": True})
    response = post_webhook(down.test_client(), issue_payload())
    assert response.status_code == 503
    assert "retried" in response.json["error"]
    ready = down.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["database"].startswith("error")


@pytest.mark.slow
def test_worker_killed_mid_batch_loses_nothing_and_applies_once(tmp_path: Path, any_database_url: str,
                                                                redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    from app import create_app
    from sync.jobs import sweep

    settings = make_settings(tmp_path, any_database_url, redis_url)
    app = create_app(settings, {"TESTING": True})
    runtime = app.extensions["companion"]
    client = app.test_client()
    for n in range(1, 4):
        assert post_webhook(client, issue_payload(f"SUP-{n}", jira_id=str(10000 + n))).status_code == 202

    # Hold a write lock so the worker blocks inside its batch transaction, then kill it there.
    blocker = create_engine(any_database_url)
    conn = blocker.connect()
    if blocker.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(text("LOCK TABLE tickets IN EXCLUSIVE MODE"))
    worker = subprocess.Popen([sys.executable, "-m", "app", "worker", "--burst", "--queues", "inbound"],
                              cwd=REPO_ROOT, env=worker_env(settings), start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while redis_client.llen("rq:queue:inbound") and time.monotonic() < deadline:
            time.sleep(0.1)  # the worker has taken the job
        time.sleep(1.5)  # …and is now blocked on the lock, mid-batch
        assert worker.poll() is None, "the worker should be blocked inside its batch"
        # The drain runs in the worker's own process (sync.worker); kill it and anything it started,
        # like a machine that dies.
        family = [worker.pid, *(child.pid for child in psutil.Process(worker.pid).children(recursive=True))]
        for pid in family:
            os.kill(pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        conn.rollback()
        conn.close()
        blocker.dispose()
    assert len(pending_rows(runtime)) == 3, "every row survives the kill, still pending"
    with runtime.sessions() as db:
        assert db.scalars(select(Ticket)).all() == []

    # The sweeper re-enqueues; a new worker applies every row exactly once.
    assert sweep(runtime)["inbox_pending"] == 3
    done = subprocess.run([sys.executable, "-m", "app", "worker", "--burst", "--queues", "inbound"],
                          cwd=REPO_ROOT, env=worker_env(settings), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert pending_rows(runtime) == []
    with runtime.sessions() as db:
        assert sorted(db.scalars(select(Ticket.key))) == ["SUP-1", "SUP-2", "SUP-3"]
        assert set(db.scalars(select(InboundEvent.state))) == {"applied"}
