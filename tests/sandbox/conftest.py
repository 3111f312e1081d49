"""Fixtures for the stand-in JSM tests: served sandboxes, a webhook receiver, and the OpenAPI documents."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sandbox.testing import RunningSandbox, running_sandbox

# The repository's parent directory holds the team's shared folder; its files are never copied here.
SHARED_JSM = Path(__file__).resolve().parents[2].parent / "shared" / "jsm"


def shared_jsm() -> Path:
    """`../shared/jsm`, or skip the test saying why."""
    if not SHARED_JSM.is_dir():
        pytest.skip(f"{SHARED_JSM} not found: Atlassian's OpenAPI documents and the real webhook samples "
                    "live in the team's shared folder next to the checkout and are not part of the project")
    return SHARED_JSM


class Receiver:
    """A tiny webhook receiver recording (headers, raw body); answers with scripted status codes."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict, bytes]] = []
        self.script: list[int] = []  # status codes to answer first; then 200
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer._lock:
                    outer.calls.append((dict(self.headers), raw))
                    code = outer.script.pop(0) if outer.script else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/jira"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict]:
        """Parsed bodies in arrival order."""
        with self._lock:
            return [json.loads(raw) for _, raw in self.calls]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.script.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def cloud() -> Iterator[RunningSandbox]:
    """A Cloud stand-in with demo data, shared by a module's tests (they must not depend on each other)."""
    with running_sandbox(seed="demo", deployment="cloud") as sb:
        yield sb


@pytest.fixture(scope="module")
def dc() -> Iterator[RunningSandbox]:
    """A Data Center stand-in with demo data."""
    with running_sandbox(seed="demo", deployment="datacenter") as sb:
        yield sb


def basic(email: str, token: str = "sandbox-token") -> dict:
    """Cloud auth header."""
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()}
