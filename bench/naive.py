"""The second ingest baseline: a Flask endpoint doing one INSERT and one commit per request (the naive durable limit).

No signature, no parsing, no queue: only the body stored in the inbox table, committed before the answer,
with the same engine settings as the companion (`sync.db.make_engine`).
"""

from __future__ import annotations

import os
import uuid

from flask import Flask, request
from sqlalchemy import insert

from sync.db import make_engine
from sync.models import InboundEvent, InboxState

application = Flask(__name__)
_engine = make_engine(os.environ["COMPANION_DATABASE_URL"])
_INSERT = insert(InboundEvent)


@application.post("/webhooks/jira")
def receive():  # type: ignore[no-untyped-def]
    """One row per request, its own transaction: durable before the 204."""
    with _engine.begin() as conn:
        conn.execute(_INSERT, {"delivery_id": uuid.uuid4().hex, "webhook_event": "jira:issue_updated",
                               "payload": request.get_data(as_text=True), "state": InboxState.IGNORED})
    return "", 204


@application.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return {"status": "ok"}
