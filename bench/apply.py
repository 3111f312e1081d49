"""(b) Apply rate: events/s one worker applies from the inbox, next to a raw Core bulk upsert of the same rows.

The baseline writes every column the applier writes (the same row image, `sync.inbound.rows`), into
the same database, in the same run; both are repeated, interleaved, and the medians are compared,
because one run of either swings several-fold on a loaded machine.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from sqlalchemy import delete, insert, update

from bench.env import BenchEnv
from bench.loadgen import webhook
from sync.heap import freeze_startup_objects
from sync.models import Comment, InboundEvent, NotificationEvent, StatusHistory, Ticket, TicketParticipant, utcnow


def _ticket_row(body: bytes, mapping: Any) -> dict[str, Any]:
    """The row the applier writes for this event: every column of `tickets` but the id."""
    from sync.inbound.rows import TICKET_COLUMNS
    from sync.jsm.events import normalise

    issue = normalise(json.loads(body)).issue
    status = mapping.resolve_status(issue.status_id, issue.status_name, issue.status_category)
    reporter, assignee = issue.reporter, issue.assignee
    row = {"jira_id": issue.jira_id, "key": issue.key, "project_key": issue.project_key, "summary": issue.summary,
           "description": issue.description, "service_desk_id": None, "request_type_id": issue.request_type_id,
           "request_type_name": issue.request_type_name, "issue_type_name": issue.issue_type,
           "organization_id": None, "reporter_account_id": reporter.account_id if reporter else None,
           "reporter_name": reporter.name if reporter else None, "reporter_email": reporter.email if reporter else None,
           "assignee_name": assignee.name if assignee else None, "jira_status_id": issue.status_id,
           "jira_status_name": issue.status_name, "jira_status_category": issue.status_category,
           "jira_priority_id": issue.priority_id, "jira_priority_name": issue.priority_name,
           "customer_status": status.key, "customer_priority": mapping.resolve_priority(
               issue.priority_id, issue.priority_name).key, "bucket": status.bucket,
           "status_fell_back": status.fell_back, "created_at": issue.created, "jira_updated_at": issue.updated,
           "resolved_at": issue.resolved, "first_response_at": None, "deleted": False, "last_synced_at": utcnow()}
    assert set(row) == set(TICKET_COLUMNS), "the baseline must write what the applier writes"
    return row


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


def _set_upsert(engine: Any, rows: list[dict[str, Any]], batch: int) -> None:
    """The set-based floor (PostgreSQL): one INSERT … SELECT FROM json_to_recordset … ON CONFLICT per batch, the
    statement shape the applier writes tickets with (`sync.inbound.sql.rows_of_json`), no reads, no checks."""
    from sqlalchemy.dialects.postgresql import insert as upsert

    from sync.inbound.sql import BATCH_ROWS, json_rows, rows_of_json

    columns = tuple(rows[0])
    stmt = upsert(Ticket).from_select(list(columns), rows_of_json(Ticket.__table__, columns))  # type: ignore[arg-type]
    stmt = stmt.on_conflict_do_update(index_elements=[Ticket.jira_id], set_={
        c: stmt.excluded[c] for c in columns if c not in ("jira_id", "created_at")})
    for start in range(0, len(rows), batch):
        # One statement can change a row once: each ticket's last image of the batch, as the applier writes.
        last = {r["jira_id"]: r for r in rows[start:start + batch]}
        with engine.begin() as conn:
            conn.execute(stmt, {BATCH_ROWS: json_rows(columns, (tuple(r.values()) for r in last.values()))})


def _empty_store(engine: Any) -> None:
    with engine.begin() as conn:
        for model in (TicketParticipant, NotificationEvent, StatusHistory, Comment, Ticket):
            conn.execute(delete(model))


def run(env: BenchEnv, quick: bool = False) -> dict:
    """Drain N pending inbox rows with `drain_inbox` (one worker, in process) and time the same upserts."""
    from sync.jobs import BATCH_SIZE, drain_inbox
    from sync.runtime import Runtime

    count, tickets, repeats = (600, 100, 5) if quick else (3000, 300, 5)
    runtime = Runtime(env.settings())
    bodies = [webhook(i, tickets) for i in range(count)]
    with runtime.engine.begin() as conn:
        conn.execute(insert(InboundEvent), [
            {"delivery_id": f"apply-{i}", "webhook_event": "jira:issue_updated", "issue_key": f"SUP-{i % tickets + 1}",
             "project_key": "SUP", "event_timestamp": i, "payload": b.decode(), "state": "pending",
             "attempts": 0, "received_at": utcnow()} for i, b in enumerate(bodies)])
    runtime.mapping  # noqa: B018 (a running worker holds it parsed; its one-time load is not the apply rate)
    rows = [_ticket_row(b, runtime.mapping) for b in bodies]
    freeze_startup_objects()  # as a worker process does before its first job (sync.worker.run_worker)
    applied: list[float] = []
    raw: list[float] = []
    set_based: list[float] = []
    postgresql = runtime.engine.dialect.name == "postgresql"
    counts: dict[str, int] = {}
    for _ in range(repeats):
        _empty_store(runtime.engine)
        with runtime.engine.begin() as conn:
            conn.execute(update(InboundEvent).values(state="pending", attempts=0, reason=None, applied_at=None,
                                                     retry_at=None))
        started = time.perf_counter()
        counts = drain_inbox(runtime)
        applied.append(count / (time.perf_counter() - started))
        _empty_store(runtime.engine)
        started = time.perf_counter()
        _upsert(runtime.engine, rows, BATCH_SIZE)
        raw.append(count / (time.perf_counter() - started))
        if postgresql:
            _empty_store(runtime.engine)
            started = time.perf_counter()
            _set_upsert(runtime.engine, rows, BATCH_SIZE)
            set_based.append(count / (time.perf_counter() - started))
    runtime.close()
    apply_eps, raw_eps = statistics.median(applied), statistics.median(raw)
    # The second floor: the applier writes tickets with one statement per batch, which the baseline above
    # (one execution per row) does not; against this one the ratio says what the reads, the parsing and the
    # inbox's bookkeeping cost, with the write itself alike on both sides.
    set_eps = statistics.median(set_based) if set_based else None
    return {"database": env.dialect, "events": count, "tickets": tickets, "batch_size": BATCH_SIZE,
            "repeats": repeats, "drain_counts": counts, "apply_eps": round(apply_eps, 1),
            "raw_upsert_eps": round(raw_eps, 1), "ratio": round(apply_eps / raw_eps, 3),
            "set_upsert_eps": round(set_eps, 1) if set_eps else None,
            "ratio_to_set_upsert": round(apply_eps / set_eps, 3) if set_eps else None,
            "apply_eps_runs": [round(x, 1) for x in applied], "raw_upsert_eps_runs": [round(x, 1) for x in raw],
            "set_upsert_eps_runs": [round(x, 1) for x in set_based],
            "note": "medians of interleaved repeats; one in-process worker; the baselines write the applier's "
                    "row image (every column): raw = Core executemany (one execution per row), set = one "
                    "INSERT … SELECT per batch from a JSON document (PostgreSQL only); PostgreSQL when "
                    "BENCH_DATABASE_URL/TEST_DATABASE_URL is set"}
