"""Mapping re-projection: preview and publish over N tickets, beside a raw full-table UPDATE baseline.

The issue's target: 100,000 tickets on PostgreSQL re-projected in under 10 s. The baseline is the
cost floor of touching every ticket row once (`UPDATE tickets SET bucket = bucket`), measured in the
same run on the same data.
"""

from __future__ import annotations

import copy
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from bench.env import BenchEnv

STATUSES = [("10010", "Waiting for Support", "new"), ("10011", "Waiting for Customer", "indeterminate"),
            ("3", "In Progress", "indeterminate"), ("10012", "Escalated", "indeterminate"),
            ("10013", "Analyse", "indeterminate"), ("10014", "Backlog", "indeterminate"),
            ("10015", "In Development", "indeterminate"), ("10016", "On Hold", "indeterminate"),
            ("10017", "Release Waiting", "indeterminate"), ("5", "Resolved", "done"), ("6", "Closed", "done"),
            ("10018", "Canceled", "done"), ("10019", "Проверяется", "indeterminate"),
            ("20000", "Vendor Review", "indeterminate")]
PRIORITIES = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]


def _fill(session: Any, mapping: Any, count: int, projects: int = 20) -> None:
    from sync.models import Organization, Ticket

    rnd = random.Random(7)
    now = datetime.now(UTC)
    session.execute(insert(Organization), [{"slug": f"org-{i}", "name": f"Org {i}", "created_at": now}
                                           for i in range(100)])
    rows = []
    for i in range(count):
        status_id, name, category = rnd.choice(STATUSES)
        priority_id, priority = rnd.choice(PRIORITIES)
        project = f"P{i % projects}"
        status = mapping.resolve_status(status_id, name, category, project_key=project)
        rows.append({"jira_id": str(100000 + i), "key": f"{project}-{i}", "project_key": project, "summary": "x",
                     "jira_status_id": status_id, "jira_status_name": name, "jira_status_category": category,
                     "jira_priority_id": priority_id, "jira_priority_name": priority,
                     "customer_status": status.key, "bucket": status.bucket, "status_fell_back": status.fell_back,
                     "customer_priority": mapping.resolve_priority(priority_id, priority).key,
                     "organization_id": 1 + i % 100, "created_at": now - timedelta(minutes=i),
                     "jira_updated_at": now - timedelta(minutes=i), "last_synced_at": now,
                     "deleted": False})
        if len(rows) == 10_000:
            session.execute(insert(Ticket), rows)
            rows = []
    if rows:
        session.execute(insert(Ticket), rows)


def _proposal(mapping: Any) -> Any:
    """The default mapping with two statuses moved (a typical publish): about 1 ticket in 7 changes."""
    from mappings import Mapping

    document = copy.deepcopy(mapping.to_dict())
    for rule in document["status_rules"]:
        if rule.get("jira_name") in ("Escalated", "Backlog"):
            rule["customer_status"] = "on_hold"
    return Mapping.from_dict(document)


def run(env: BenchEnv, quick: bool = False) -> dict[str, Any]:
    """Fill N tickets, then time the baseline UPDATE, a preview, a publish, and a no-op publish."""
    from mappings import load_default
    from sync.db import make_engine, make_session_factory
    from sync.models import StatusHistory
    from sync.projection import reproject

    count = 20_000 if quick else 100_000
    engine = make_engine(env.database_url)
    sessions = make_session_factory(engine)
    mapping = load_default()
    started = time.perf_counter()
    with sessions() as session, session.begin():
        _fill(session, mapping, count)
    fill_s = time.perf_counter() - started
    if env.dialect == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE tickets"))

    with sessions() as session, session.begin():
        started = time.perf_counter()
        session.execute(text("UPDATE tickets SET bucket = bucket"))
        baseline_s = time.perf_counter() - started

    proposal = _proposal(mapping)
    with sessions() as session:
        started = time.perf_counter()
        preview = reproject.preview(session, proposal)
        preview_s = time.perf_counter() - started
    with sessions() as session, session.begin():
        started = time.perf_counter()
        applied = reproject.apply(session, proposal)
        publish_s = time.perf_counter() - started
    with sessions() as session, session.begin():
        started = time.perf_counter()
        again = reproject.apply(session, proposal)
        noop_s = time.perf_counter() - started
        history = session.scalar(select(func.count()).select_from(StatusHistory))
    engine.dispose()
    return {
        "database": env.dialect, "tickets": count, "fill_s": round(fill_s, 2),
        "baseline_full_update_s": round(baseline_s, 3),
        "preview_s": round(preview_s, 3), "preview_changes": preview.changed,
        "publish_s": round(publish_s, 3), "publish_changes": applied.changed,
        "publish_ratio_to_baseline": round(publish_s / baseline_s, 2) if baseline_s else None,
        "noop_publish_s": round(noop_s, 3), "noop_changes": again.changed,
        "history_rows_written": history, "target": "100,000 tickets on PostgreSQL in under 10 s",
    }
