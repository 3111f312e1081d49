"""Server time (p50/p95) of the portal's list, request and summary pages for one organisation in a big store.

    .venv/bin/python bench/portal_bench.py                      # SQLite, 20000 tickets / 200 organisations
    .venv/bin/python bench/portal_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres
                                                                # PostgreSQL (a scratch database is created
                                                                # and dropped), 100000 / 1000 by default
    ... --keep-database companion_portal_prof   # fill once, reuse on later runs (never dropped)
    ... --only list,summary --show-sql           # some pages; their SQL on stderr
Prints one JSON object with p50/p95/max and the SQL statements per request. Rows are bulk-inserted
with SQLAlchemy Core, not through the sync.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import make_url

from sync.models import Comment, Organization, StatusHistory, Ticket

STATUSES = [("open", "open"), ("in_progress", "open"), ("awaiting_customer", "open"), ("awaiting_fix", "open"),
            ("resolved", "resolved"), ("closed", "closed"), ("canceled", "closed")]
PRIORITIES = ["high", "medium", "low"]
TYPES = ["Incident", "Defect", "Consultation", "Feature request"]


def _scratch_postgres(base: str, keep: str | None = None) -> tuple[str, Any, bool]:
    """A fresh database (dropped afterwards), or `keep` reused as is (created when missing, never dropped)."""
    url = make_url(base)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = keep or f"companion_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    if keep:
        admin.dispose()
        return url.set(database=name).render_as_string(hide_password=False), None, bool(exists)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop, False


def fill(url: str, tickets: int, orgs: int, seed: int = 7) -> dict[str, float]:
    """Bulk-insert organisations, tickets (round-robin over organisations), history and public/internal comments."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Organization), [{"id": i + 1, "slug": f"org-{i}", "name": f"Org {i}", "created_at": now}
                                            for i in range(orgs)])
        batch: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        comments: list[dict[str, Any]] = []
        for n in range(1, tickets + 1):
            status, bucket = rng.choice(STATUSES)
            created = now - timedelta(minutes=rng.randint(0, 200 * 24 * 60))
            updated = created + timedelta(minutes=rng.randint(1, 10 * 24 * 60))
            batch.append({
                "id": n, "jira_id": str(100000 + n), "key": f"SUP-{n}", "project_key": "SUP",
                "summary": f"Request number {n} about {rng.choice(['printer', 'VPN', 'mail', 'billing'])}",
                "organization_id": n % orgs + 1, "reporter_email": f"user{n % 50}@org{n % orgs}.test",
                "reporter_name": f"User {n % 50}", "assignee_name": "Agent", "request_type_name": rng.choice(TYPES),
                "customer_status": status, "customer_priority": rng.choice(PRIORITIES), "bucket": bucket,
                "jira_status_name": status, "created_at": created, "jira_updated_at": updated,
                "resolved_at": updated if bucket != "open" else None,
                "first_response_at": created + timedelta(minutes=rng.randint(5, 600)),
                "last_synced_at": now, "deleted": False, "status_fell_back": False,
                "description": "Steps to reproduce…",
            })
            history.append({"ticket_id": n, "customer_status": status, "at": updated, "changelog_id": f"h{n}"})
            for c in range(2):
                comments.append({"ticket_id": n, "jira_id": f"c{n}-{c}", "author_name": "Agent", "public": c == 0,
                                 "from_support": True, "body": "Please *check* the logs.", "deleted": False,
                                 "created_at": updated, "updated_at": updated})
            if len(batch) >= 5000:
                conn.execute(insert(Ticket), batch)
                conn.execute(insert(StatusHistory), history)
                conn.execute(insert(Comment), comments)
                batch, history, comments = [], [], []
        if batch:
            conn.execute(insert(Ticket), batch)
            conn.execute(insert(StatusHistory), history)
            conn.execute(insert(Comment), comments)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"fill_seconds": round(time.perf_counter() - started, 1)}


class QueryCounter:
    """Counts the SQL statements the app sends (SQLAlchemy's before_cursor_execute event)."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.count += 1
        self.statements.append(statement)


def measure(client: Any, urls: list[str], rounds: int, counter: QueryCounter | None = None) -> dict[str, Any]:
    """Server time of GET `urls` (cycled) through the WSGI test client, in milliseconds; queries per request."""
    for url in urls[:3]:
        client.get(url)  # warm caches (mapping, templates, connection pool)
    times, queries = [], []
    for i in range(rounds):
        url = urls[i % len(urls)]
        before = counter.count if counter else 0
        started = time.perf_counter()
        response = client.get(url)
        response.get_data()  # a streamed answer (CSV) counts until its last byte
        times.append((time.perf_counter() - started) * 1000)
        response.close()
        queries.append((counter.count if counter else 0) - before)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return {"n": rounds, "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1), "max_ms": round(times[-1], 1),
            "queries": f"{min(queries)}-{max(queries)}" if min(queries) != max(queries) else queries[0]}


def main() -> None:
    """Fill a store, sign in as one organisation's viewer and time the three pages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--tickets", type=int)
    parser.add_argument("--orgs", type=int)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--keep-database", metavar="NAME",
                        help="PostgreSQL: reuse (or create and fill once) this database and never drop it")
    parser.add_argument("--only", help="comma-separated pages to time (list,request,summary,export_csv)")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one request per page")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    drop, filled = None, False
    if args.database_url:
        url, drop, filled = _scratch_postgres(args.database_url, args.keep_database)
        tickets, orgs = args.tickets or 100_000, args.orgs or 1000
    else:
        url = f"sqlite:///{work / 'bench.db'}"
        tickets, orgs = args.tickets or 20_000, args.orgs or 200
    from sync.db import upgrade

    upgrade(url)
    try:
        info = {"fill_seconds": 0.0} if filled else fill(url, tickets, orgs)
        from app import create_app
        from app.services.accounts import create_user
        from sync.settings import Settings

        settings = Settings(data_dir=work, database_url=url, redis_url=os.environ.get("REDIS_URL"),
                            secret_key="bench")
        app = create_app(settings, {"TESTING": True, "WTF_CSRF_ENABLED": False})
        runtime = app.extensions["companion"]
        if not filled:
            with runtime.sessions() as db, db.begin():
                create_user(db, email="viewer@org1.test", role="org_viewer", org_slug="org-1",
                            password="bench-password")
        client = app.test_client()
        client.post("/login", data={"email": "viewer@org1.test", "password": "bench-password"})
        keys = [f"SUP-{n}" for n in range(1, tickets + 1) if n % orgs + 1 == 2][:20]
        pages = {
            "list": (["/", "/?status=in_progress", "/?q=printer", "/?sort=priority&dir=asc", "/?page=2"],
                     args.rounds),
            "request": ([f"/tickets/{k}" for k in keys], args.rounds),
            "summary": (["/summary"], args.rounds),
            "export_csv": (["/export.csv"], max(5, args.rounds // 4)),
        }
        wanted = args.only.split(",") if args.only else list(pages)
        counter = QueryCounter(runtime.engine)
        results = {name: measure(client, *pages[name], counter) for name in wanted}
        if args.show_sql:
            for name in wanted:
                counter.statements.clear()
                client.get(pages[name][0][0]).close()
                print(f"-- {name}: {len(counter.statements)} statements", file=sys.stderr)
                for statement in counter.statements:
                    print(" ".join(statement.split()), file=sys.stderr)
        runtime.close()
        print(json.dumps({"benchmark": "portal", "database": make_url(url).get_backend_name(), "tickets": tickets,
                          "organizations": orgs, "tickets_per_org": tickets // orgs, **info, "results": results},
                         indent=2))
    finally:
        if drop:
            drop()


if __name__ == "__main__":
    main()
