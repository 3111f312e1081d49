"""URL-borne secrets (`?token=`, share and one-time links, URL passwords) never reach a log line."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app.redaction import RedactingFilter, redact
from tests.ops.procs import free_port, healthy, serve_env, wait_until

HOOK_SECRET = "dc-query-secret-0123456789"


@pytest.mark.parametrize(("line", "kept", "gone"), [
    ('"POST /webhooks/jira?token=abc123secret HTTP/1.1" 202', "/webhooks/jira?token=[redacted]", "abc123secret"),
    ("GET /webhooks/jira?a=1&token=abc123secret&b=2", "&b=2", "abc123secret"),
    ('"GET /s/Zx9_shareTOKEN-1 HTTP/1.1" 200', "/s/[redacted]", "Zx9_shareTOKEN-1"),
    ("GET /s/Zx9_shareTOKEN-1.svg?lang=ru", "?lang=ru", "Zx9_shareTOKEN-1"),
    ("GET /invite/inv1te-t0ken", "/invite/[redacted]", "inv1te-t0ken"),
    ("GET /password/reset/r3set", "/password/reset/[redacted]", "r3set"),
    ("postgresql+psycopg://app:DBPASS@db/companion", "app:[redacted]@db", "DBPASS"),
    ("GET /summary?scope=org", "GET /summary?scope=org", None),
])
def test_redact(line: str, kept: str, gone: str | None) -> None:
    cleaned = redact(line)
    assert kept in cleaned
    if gone:
        assert gone not in cleaned


def test_the_filter_redacts_merged_arguments() -> None:
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"%s" %s', ("GET /s/tok3n HTTP/1.1", 200),
                               None)
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == '"GET /s/[redacted] HTTP/1.1" 200'



def test_gunicorn_access_log_has_no_query_secret_nor_share_token(tmp_path: Path, database_url: str,
                                                                 redis_url: str) -> None:
    """The real server as `companion serve` starts it, with its logger class; the lines it writes are read."""
    port = free_port()
    env = serve_env(tmp_path, database_url, redis_url, HOOK_SECRET)
    # The worker class and logger class of `companion serve`, with the access log written to stdout.
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                               "--worker-class", "gevent", "--access-logfile", "-",
                               "--logger-class", "app.cli.access_log.RedactingLogger",
                               "app.wsgi:application"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_until(lambda: healthy(base) or server.poll() is not None, 60) and server.poll() is None
        for url, data in ((f"{base}/webhooks/jira?token={HOOK_SECRET}", b"{}"),
                          (f"{base}/s/SHARE-TOKEN-abcdef", None)):
            # 400 / 404: the line is written all the same.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=5).close()
        time.sleep(0.5)
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0].decode()
    assert "/webhooks/jira?token=[redacted]" in output
    assert "/s/[redacted]" in output
    assert HOOK_SECRET not in output
    assert "SHARE-TOKEN-abcdef" not in output
