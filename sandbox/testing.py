"""`running_sandbox()`: the stand-in served on a free local port in a background thread, for tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.app import create_app
from sandbox.site import Sandbox
from sandbox.state import SandboxState


@dataclass
class RunningSandbox:
    """A served stand-in: `.url`, `.app`, `.sandbox`, `.state`, credentials, and `wait_for_webhooks()`."""

    url: str
    app: Flask
    server: BaseWSGIServer

    @property
    def sandbox(self) -> Sandbox:
        """The Sandbox bundle (state, faults, sender)."""
        return self.app.extensions["sandbox"]

    @property
    def state(self) -> SandboxState:
        """The in-memory state (take `state.lock` when reading it from a test)."""
        return self.sandbox.state

    @property
    def email(self) -> str:
        return self.sandbox.email

    @property
    def token(self) -> str:
        return self.sandbox.token

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Block until every queued webhook was delivered (or given up); False on timeout."""
        return self.sandbox.sender.flush(timeout)

    def set_webhook(self, url: str | None, secret: str | None = None) -> None:
        """Send webhooks to `url` from now on."""
        self.sandbox.sender.configure(url, secret)


class _QuietHandler(WSGIRequestHandler):
    """No access log lines in test output."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@contextmanager
def running_sandbox(**create_app_kwargs) -> Iterator[RunningSandbox]:
    """Serve `create_app(**kwargs)` on 127.0.0.1:<free port> (threaded) and stop it cleanly afterwards."""
    app = create_app(**create_app_kwargs)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    app.extensions["sandbox"].set_base_url(url)
    thread = threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True)
    thread.start()
    try:
        yield RunningSandbox(url, app, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.extensions["sandbox"].close()
