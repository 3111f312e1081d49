"""`companion run` keeps its install serving: a killed child is restarted; SIGTERM drains and exits."""

from __future__ import annotations

import os
import signal
import urllib.request

import psutil
import pytest

from tests.conftest import make_settings
from tests.ops.procs import free_port, process_env, start, stop, wait_until


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _child(run: psutil.Process, word: str) -> psutil.Process | None:
    for child in run.children():
        try:
            if word in " ".join(child.cmdline()):
                return child
        except psutil.Error:  # a child that just died (a zombie until the supervisor reaps it)
            continue
    return None


@pytest.mark.slow
def test_a_killed_child_is_restarted_and_the_install_keeps_serving(tmp_path, database_url, redis_url,
                                                                  redis_client) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    settings = make_settings(tmp_path, database_url, redis_url)
    env = process_env(settings, PORT=str(port), COMPANION_JIRA_SANDBOX_PORT=str(free_port()),
                      COMPANION_LOG_FORMAT="json")
    log = tmp_path / "run.log"
    run = start(["run"], env, log)
    try:
        assert wait_until(lambda: _healthy(port), 60), log.read_text()[-3000:]
        supervisor = psutil.Process(run.pid)
        for word in ("gunicorn", " worker"):
            # `serve` becomes gunicorn only once it has imported the app: seconds on a loaded machine.
            victim = wait_until(lambda w=word: _child(supervisor, w), 90)
            assert victim is not None, f"no {word.strip()} child: {[c.cmdline() for c in supervisor.children()]}"
            os.killpg(victim.pid, signal.SIGKILL)
            replacement = wait_until(lambda w=word, v=victim: (c := _child(supervisor, w)) and c.pid != v.pid and c,
                                     90)
            assert replacement, f"{word.strip()} was not restarted"
            assert wait_until(lambda: _healthy(port), 30), "the install stopped serving"
        text = log.read_text()
        assert "exited with code -9; restarting in" in text, text[-3000:]
    finally:
        os.kill(run.pid, signal.SIGTERM)  # the supervisor alone: it drains its children itself
        try:
            assert run.wait(120) == 0
        finally:
            stop(run)
    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(settings.data_dir) in " ".join(p.info["cmdline"] or []) and p.pid != os.getpid()]
