"""A real `notify` worker SIGKILLed right after the SMTP server accepted the message: no second copy."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading

import pytest
from sqlalchemy import select

from sync.models import MailState, OutgoingMail
from tests.conftest import REPO_ROOT
from tests.notify.conftest import mail_env, smtp_url
from tests.outbound.test_worker_killed import _children, _worker_env


def _start(env, controller) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    environment = {**_worker_env(env), "COMPANION_MAIL_SMTP_URL": smtp_url(controller),
                   "COMPANION_NOTIFICATIONS_COALESCE_SECONDS": "0", "COMPANION_PORTAL_BASE_URL": "http://portal.test"}
    return subprocess.Popen([sys.executable, "-m", "app", "worker", "--burst", "--queues", "notify"], cwd=REPO_ROOT,
                            env=environment, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_worker_killed_after_the_server_accepted_sends_no_second_copy(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    from sync.jobs import request_notifications, sweep

    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    key = env.raise_request()
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "Fixed, please check", "public": True})
    env.sync_in()  # records the fact and enqueues a notification drain on the `notify` queue
    assert request_notifications(env.runtime.redis, force=True)
    worker = _start(env, controller)
    killed = threading.Event()

    def kill_worker() -> None:
        # Inside the server's DATA handler, after the message is stored and before "250" reaches the worker.
        horses = _children(worker.pid)
        os.killpg(worker.pid, signal.SIGKILL)
        for pid in horses:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        killed.set()

    inbox.on_accept = kill_worker
    try:
        worker.wait(60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert killed.is_set(), "the worker never reached the server"
    inbox.on_accept = None
    assert len(inbox.messages) == 1

    # The lease passes; the sweeper settles the abandoned mail and a fresh worker drains what is left.
    from sync.notify import delivery

    with env.runtime.sessions() as db, db.begin():
        delivery.due_mails(db, lease_seconds=0)
    sweep(env.runtime)
    done = subprocess.run([sys.executable, "-m", "app", "worker", "--burst", "--queues", "notify"], cwd=REPO_ROOT,
                          env={**_worker_env(env), "COMPANION_MAIL_SMTP_URL": smtp_url(controller)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(inbox.messages) == 1
    with env.runtime.sessions() as db:
        mail = db.scalars(select(OutgoingMail)).one()
        assert mail.state == MailState.UNCERTAIN and mail.message_id in mail.answer
        assert mail.message_id == inbox.messages[0]["Message-ID"]
