"""The ingest baseline: a bare Flask app whose webhook endpoint only answers 204."""

from __future__ import annotations

from flask import Flask

application = Flask(__name__)


@application.post("/webhooks/jira")
def receive():  # type: ignore[no-untyped-def]
    """Read nothing, store nothing: the cost of Flask + gunicorn + HTTP alone."""
    return "", 204


@application.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return {"status": "ok"}
