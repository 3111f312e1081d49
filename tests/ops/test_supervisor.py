"""`companion run` keeps its install serving: a killed child is restarted (also while the web is still starting);
SIGTERM drains and exits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import make_settings
from tests.ops.procs import free_port, healthy, process_env, start, stop, wait_until

pytestmark = pytest.mark.slow


def _child(run: psutil.Process, *words: str) -> psutil.Process | None:
    """The supervisor's child whose command line holds one of `words`."""
    for child in run.children():
        try:
            if any(word in " ".join(child.cmdline()) for word in words):
                return child
        except psutil.Error:  # a child that just died (a zombie until the supervisor reaps it)
            continue
    return None


class Install:
    """`companion run` of a test install on `port`, logging to run.log; stopped by SIGTERM to the supervisor."""

    def __init__(self, tmp_path: Path, database_url: str, redis_url: str, port: int) -> None:
        self.port, self.log = port, tmp_path / "run.log"
        self.base = f"http://127.0.0.1:{port}"
        self.settings = make_settings(tmp_path, database_url, redis_url)
        env = process_env(self.settings, PORT=str(port), COMPANION_JIRA_SANDBOX_PORT=str(free_port()),
                          COMPANION_LOG_FORMAT="json")
        self.run: subprocess.Popen[bytes] = start(["run"], env, self.log)
        self.supervisor = psutil.Process(self.run.pid)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def terminate(self) -> int:
        """SIGTERM to the supervisor alone (it drains its children itself); its exit code."""
        os.kill(self.run.pid, signal.SIGTERM)
        try:
            return self.run.wait(120)
        finally:
            stop(self.run)

    def leftovers(self) -> list[psutil.Process]:
        """Processes of this install still running."""
        data_dir = str(self.settings.data_dir)
        return [p for p in psutil.process_iter(["cmdline"])
                if data_dir in " ".join(p.info["cmdline"] or []) and p.pid != os.getpid()]


@pytest.fixture
def install(tmp_path, database_url, redis_url, redis_client) -> Iterator[Install]:  # type: ignore[no-untyped-def]
    running = Install(tmp_path, database_url, redis_url, free_port())
    try:
        yield running
    finally:
        code = running.terminate()
    assert code == 0, running.text()[-3000:]
    assert not running.leftovers()


def test_a_killed_child_is_restarted_and_the_install_keeps_serving(install: Install) -> None:
    assert wait_until(lambda: healthy(install.base), 90), install.text()[-3000:]
    # The web child is `companion serve` until it has imported the app and become gunicorn: either is it.
    for words in (("gunicorn", " serve "), (" worker",)):
        victim = wait_until(lambda w=words: _child(install.supervisor, *w), 30)
        assert victim is not None, f"no {words} child: {[c.cmdline() for c in install.supervisor.children()]}"
        os.killpg(victim.pid, signal.SIGKILL)
        replacement = wait_until(
            lambda w=words, v=victim: (c := _child(install.supervisor, *w)) and c.pid != v.pid and c, 60)
        assert replacement, f"{words} was not restarted: {install.text()[-3000:]}"
        assert wait_until(lambda: healthy(install.base), 90), "the install stopped serving"
    text = install.text()
    assert text.count("exited with code -9; restarting in") == 2, text[-3000:]


def test_a_child_killed_while_the_web_is_still_starting_is_restarted(tmp_path, database_url, redis_url,  # type: ignore[no-untyped-def]
                                                                     redis_client) -> None:
    # The web's port is taken, so the web never answers: `run` is still waiting for it when the worker dies.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        starting = Install(tmp_path, database_url, redis_url, taken.getsockname()[1])
        try:
            worker = wait_until(lambda: _child(starting.supervisor, " worker"), 60)
            assert worker is not None, starting.text()[-3000:]
            os.killpg(worker.pid, signal.SIGKILL)
            # Well within the minute after which `run` warns that the web has not answered yet.
            assert wait_until(lambda: f"worker (pid {worker.pid}) exited with code -9" in starting.text(), 30), \
                starting.text()[-3000:]
            assert wait_until(lambda: (c := _child(starting.supervisor, " worker")) and c.pid != worker.pid, 30)
            assert "JSM Companion is up" not in starting.text()
        finally:
            code = starting.terminate()
    text = starting.text()
    assert code == 0, text[-3000:]
    assert "Demo accounts" not in text  # a stop during start-up skips the demo set-up
    assert not starting.leftovers()
