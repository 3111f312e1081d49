"""Slow clients (slowloris): half-sent requests must not make the service unanswerable.

`companion serve` is started as an operator starts it; 20 connections each send part of a request's
headers and then stall, and /healthz and the webhook receiver must still answer at once.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.ops.procs import free_port, healthy, serve_env, wait_until

HALF_SENT = 20
HOOK_SECRET = "slow-client-test-secret-0123456789"



def _still_waiting(conn: socket.socket) -> bool:
    """True while the server holds the connection open without having answered it."""
    conn.setblocking(False)
    try:
        conn.recv(1, socket.MSG_PEEK)  # returns data (answered, e.g. an error page) or b"" (closed)
        waiting = False
    except BlockingIOError:
        waiting = True  # nothing to read and not closed: still waiting for the rest of its headers
    except OSError:
        waiting = False
    conn.setblocking(True)
    return waiting


def _status(url: str, data: bytes | None = None, timeout: float = 5) -> int:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_twenty_half_sent_requests_leave_healthz_and_the_receiver_answering(tmp_path: Path, database_url: str,
                                                                           redis_url: str) -> None:
    port = free_port()
    env = serve_env(tmp_path, database_url, redis_url, HOOK_SECRET)
    # One worker: the case the review hit (gthread's 8 threads each stuck reading headers).
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", "1"], cwd=tmp_path, env=env, start_new_session=True,
                                  stdout=out, stderr=subprocess.STDOUT)
    stalled: list[socket.socket] = []
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: healthy(base) or server.poll() is not None, 60) and server.poll() is None, \
            "companion serve did not come up"
        for n in range(HALF_SENT):
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            # A request line and one header, never the blank line that ends the headers.
            conn.sendall(f"GET /healthz?n={n} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode())
            stalled.append(conn)
        time.sleep(0.5)  # let the server pick every one of them up
        assert _status(f"{base}/healthz", timeout=5) == 200
        # Unsigned: refused, but answered.
        assert _status(f"{base}/webhooks/jira", data=b"{}", timeout=5) == 401
        dropped = [n for n, conn in enumerate(stalled) if not _still_waiting(conn)]
        assert not dropped, f"the server closed or answered stalled connections {dropped} before answering others"
    finally:
        for conn in stalled:
            conn.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 15)
        server.wait(30)
    output = log.read_text()
    assert "Using worker: gevent" in output
    # gevent patched before the app imported ssl (app/gunicorn_conf.py): HTTPS calls to JSM yield too.
    assert "MonkeyPatchWarning" not in output
