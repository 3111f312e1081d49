"""(b) Apply rate: events/s one worker applies from the inbox, next to a raw Core bulk upsert of the same rows."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import delete, insert

from bench.env import BenchEnv
from bench.loadgen import webhook
from sync.models import Comment, InboundEvent, StatusHistory, Ticket, utcnow


def _ticket_row(body: bytes, mapping: Any) -> dict[str, Any]:
    from sync.jsm.events import normalise

    issue = normalise(json.loads(body)).issue
    status = mapping.resolve_status(issue.status_id, issue.status_name, issue.status_category)
    return {"jira_id": issue.jira_id, "key": issue.key, "project_key": issue.project_key, "summary": issue.summary,
            "jira_status_id": issue.status_id, "jira_status_name": issue.status_name,
            "jira_priority_name": issue.priority_name, "customer_status": status.key, "bucket": status.bucket,
            "customer_priority": mapping.resolve_priority(issue.priority_id, issue.priority_name).key,
            "created_at": issue.created, "jira_updated_at": issue.updated,
            "reporter_account_id": issue.reporter.account_id if issue.reporter else None,
            "deleted": False, "status_fell_back": False, "last_synced_at": utcnow()}


def _upsert(engine: Any, rows: list[dict[str, Any]], batch: int) -> None:
    """The floor: INSERT … ON CONFLICT (jira_id) DO UPDATE, executemany in batches, no reads, no checks."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        # One statement per batch; duplicates of a jira_id inside a batch would conflict with themselves
        # in one multi-row VALUES, so executemany (one row per execution, one transaction per batch).
        stmt = upsert(Ticket)
        stmt = stmt.on_conflict_do_update(index_elements=[Ticket.jira_id], set_={
            c: stmt.excluded[c] for c in chunk[0] if c not in ("jira_id", "created_at")})
        with engine.begin() as conn:
            conn.execute(stmt, chunk)


def run(env: BenchEnv, quick: bool = False) -> dict:
    """Drain N pending inbox rows with `drain_inbox` (one worker, in process) and time the same upserts."""
    from sync.jobs import BATCH_SIZE, drain_inbox
    from sync.runtime import Runtime

    count, tickets = (600, 100) if quick else (3000, 300)
    runtime = Runtime(env.settings())
    bodies = [webhook(i, tickets) for i in range(count)]
    with runtime.engine.begin() as conn:
        conn.execute(insert(InboundEvent), [
            {"delivery_id": f"apply-{i}", "webhook_event": "jira:issue_updated", "issue_key": f"SUP-{i % tickets + 1}",
             "project_key": "SUP", "event_timestamp": i, "payload": b.decode(), "state": "pending",
             "attempts": 0, "received_at": utcnow()} for i, b in enumerate(bodies)])
    runtime.mapping  # noqa: B018 (a running worker holds it parsed; its one-time load is not the apply rate)
    started = time.perf_counter()
    counts = drain_inbox(runtime)
    took = time.perf_counter() - started
    rows = [_ticket_row(b, runtime.mapping) for b in bodies]
    with runtime.engine.begin() as conn:
        for model in (StatusHistory, Comment, Ticket):
            conn.execute(delete(model))
    started = time.perf_counter()
    _upsert(runtime.engine, rows, BATCH_SIZE)
    raw = time.perf_counter() - started
    runtime.close()
    return {"database": env.dialect, "events": count, "tickets": tickets, "batch_size": BATCH_SIZE,
            "drain_counts": counts, "apply_eps": round(count / took, 1), "raw_upsert_eps": round(count / raw, 1),
            "ratio": round((count / took) / (count / raw), 3),
            "note": "one in-process worker; PostgreSQL when BENCH_DATABASE_URL/TEST_DATABASE_URL is set"}
