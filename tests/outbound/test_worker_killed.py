"""A real `outbound` worker SIGKILLed right after JSM accepted its write: nothing lost, nothing twice."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from flask import request
from sqlalchemy import select

from sync.models import Comment, OutboxAction
from tests.conftest import REPO_ROOT

WRITES = ("/rest/servicedeskapi/request", "/rest/servicedeskapi/request/")


def _worker_env(env) -> dict[str, str]:  # type: ignore[no-untyped-def]
    s = env.settings
    out = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    out.update(COMPANION_DATABASE_URL=s.effective_database_url, COMPANION_REDIS_URL=s.redis_url,
               COMPANION_DATA_DIR=str(s.data_dir), COMPANION_SECRET_KEY="test",
               COMPANION_JIRA_BASE_URL=env.sb.url, COMPANION_JIRA_EMAIL=env.sb.email,
               COMPANION_JIRA_API_TOKEN=env.sb.token, COMPANION_JIRA_ALLOW_UNSIGNED_WEBHOOKS="true")
    return out


def _hold_writes(env) -> threading.Event:  # type: ignore[no-untyped-def]
    """While set, the stand-in records a POST of a request or comment and then stalls its answer."""
    holding = threading.Event()

    @env.sb.app.after_request
    def stall(response):  # type: ignore[no-untyped-def]
        if holding.is_set() and request.method == "POST" and request.path.startswith(WRITES) \
                and not request.path.endswith("/transition") and response.status_code < 300:
            time.sleep(30)
        return response

    return holding


def _kill_after(env, worker: subprocess.Popen, done) -> None:  # type: ignore[no-untyped-def]
    # Generous: a worker process starts, imports everything and forks its work-horse first, which on a
    # loaded two-core machine can take many seconds.
    deadline = time.monotonic() + 90
    try:
        while not done(env.sandbox_state()) and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        assert worker.poll() is None, f"the worker exited (code {worker.returncode}) before reaching JSM"
        assert done(env.sandbox_state()), "the worker never reached JSM"
    finally:
        _kill(worker)


def _kill(worker: subprocess.Popen) -> None:  # type: ignore[type-arg]
    # RQ's work-horse runs in its own process group (os.setpgrp), so kill both groups: a dead host or
    # an OOM kill takes the horse too; killing only the worker would leave the horse sending.
    horses = _children(worker.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    for pid in horses:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    worker.wait(10)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _start_worker(env) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    return subprocess.Popen([sys.executable, "-m", "app", "worker", "--burst", "--queues", "outbound"],
                            cwd=REPO_ROOT, env=_worker_env(env), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_worker_killed_after_jsm_accepted_each_action_lands_once(make_env, any_database_url) -> None:  # type: ignore[no-untyped-def]
    from sync.jobs import sweep_outbox

    env = make_env(any_database_url)
    holding = _hold_writes(env)  # registered before the stand-in serves its first request
    key = env.raise_request()
    h = env.headers()
    create = env.client.post("/api/v1/tickets", json={"service_desk": "SUP", "request_type": "13",
                                                      "summary": "Once only"}, headers=h)
    assert create.status_code == 202
    assert env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "once"}, headers=h).status_code == 202
    holding.set()

    # 1. The create reaches JSM; the worker dies before it can record JSM's answer.
    _kill_after(env, _start_worker(env), lambda s: s["counts"]["requests"] == 2)
    # 2. The sweeper hands the abandoned action back; the next worker finds the request (no second
    #    create) and then posts the comment, and dies the same way.
    assert sweep_outbox(env.runtime, lease_seconds=0)["outbox_due"] == 2
    _kill_after(env, _start_worker(env), lambda s: s["counts"]["comments"] == 1)
    with env.runtime.sessions() as db:
        states = dict(db.execute(select(OutboxAction.kind, OutboxAction.state)).all())
    assert states["comment"] == "sending" and states["create"] in ("pending", "done"), states
    # 3. Once more: whatever was abandoned is found in JSM and linked, not sent again.
    holding.clear()
    assert sweep_outbox(env.runtime, lease_seconds=0)["outbox_due"] >= 1
    done = subprocess.run([sys.executable, "-m", "app", "worker", "--burst", "--queues", "outbound"],
                          cwd=REPO_ROOT, env=_worker_env(env), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    env.sync_in()

    state = env.sandbox_state()
    assert state["counts"]["requests"] == 2 and state["counts"]["comments"] == 1
    with env.runtime.sessions() as db:
        actions = db.scalars(select(OutboxAction).order_by(OutboxAction.id)).all()
        assert [(a.kind, a.state) for a in actions] == [("create", "done"), ("comment", "done")]
        assert all("found after a retry" in a.jira_response for a in actions), [a.jira_response for a in actions]
        assert all(a.attempts >= 2 for a in actions)
        assert actions[0].result_key in state["requests"]
        assert len(db.scalars(select(Comment)).all()) == 1
