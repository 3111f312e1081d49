"""Server time (p50/p95) of the portal's list, request and summary pages for one organisation in a big store,
beside an administrator's pages over every organisation and a big organisation's.

    .venv/bin/python bench/portal_bench.py                      # SQLite, 20000 tickets / 200 organisations
    .venv/bin/python bench/portal_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres
                                                                # PostgreSQL (a scratch database is created
                                                                # and dropped), 100000 / 1000 by default
    ... --keep-database companion_portal_prof   # fill once, reuse on later runs (never dropped)
    ... --only list,summary --show-sql           # some pages; their SQL on stderr
Prints one JSON object with p50/p95/max, the slowest URL and the SQL statements per request. Rows are
bulk-inserted with SQLAlchemy Core, not through the sync. After the fill, every `BIG_SHARE`-th ticket moves
to one big organisation (50,000 of a million), once per database.
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
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, insert, select, text, update
from sqlalchemy.engine import make_url

from sync.models import Comment, Organization, StatusHistory, Ticket, TicketParticipant, User

STATUSES = [("open", "open"), ("in_progress", "open"), ("awaiting_customer", "open"), ("awaiting_fix", "open"),
            ("resolved", "resolved"), ("closed", "closed"), ("canceled", "closed")]
PRIORITIES = ["high", "medium", "low"]
# The participant reader: an org viewer of org-1 whom JSM lists on a few other organisations' requests,
# so their organisation scope is "org-1's requests, or one they take part in" (sync.scope).
PARTICIPANT = ("participant@org1.test", "acc-bench-participant")
PARTICIPATIONS = 5
TYPES = ["Incident", "Defect", "Consultation", "Feature request"]
# The big organisation: every 20th ticket (none of org-1's, which are n % orgs == 1, nor the participant's).
BIG_SHARE = 20
BIG_ORG = "big"


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


def _rows(tickets: int, orgs: int, seed: int) -> Iterator[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]]:
    """Each ticket (round-robin over organisations) with its status change and a public and an internal comment."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for n in range(1, tickets + 1):
        status, bucket = rng.choice(STATUSES)
        created = now - timedelta(minutes=rng.randint(0, 200 * 24 * 60))
        updated = created + timedelta(minutes=rng.randint(1, 10 * 24 * 60))
        ticket = {
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
        }
        history = {"ticket_id": n, "customer_status": status, "at": updated, "changelog_id": f"h{n}"}
        comments = [{"ticket_id": n, "jira_id": f"c{n}-{c}", "author_name": "Agent", "public": c == 0,
                     "from_support": True, "body": "Please *check* the logs.", "deleted": False,
                     "created_at": updated, "updated_at": updated} for c in range(2)]
        yield ticket, history, comments


def _organizations(orgs: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [{"id": i + 1, "slug": f"org-{i}", "name": f"Org {i}", "created_at": now} for i in range(orgs)]


def fill(url: str, tickets: int, orgs: int, seed: int = 7) -> dict[str, float]:
    """Bulk-load organisations, tickets, history and comments: COPY on PostgreSQL, multi-row INSERTs elsewhere."""
    engine = create_engine(url)
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        _copy_fill(engine, tickets, orgs, seed)
    else:
        with engine.begin() as conn:
            conn.execute(insert(Organization), _organizations(orgs))
            batch: list[dict[str, Any]] = []
            history: list[dict[str, Any]] = []
            comments: list[dict[str, Any]] = []
            for ticket, change, notes in _rows(tickets, orgs, seed):
                batch.append(ticket)
                history.append(change)
                comments.extend(notes)
                if len(batch) >= 5000:
                    conn.execute(insert(Ticket), batch)
                    conn.execute(insert(StatusHistory), history)
                    conn.execute(insert(Comment), comments)
                    batch, history, comments = [], [], []
            if batch:
                conn.execute(insert(Ticket), batch)
                conn.execute(insert(StatusHistory), history)
                conn.execute(insert(Comment), comments)
    engine.dispose()
    return {"fill_seconds": round(time.perf_counter() - started, 1)}


def _copy_fill(engine: Any, tickets: int, orgs: int, seed: int) -> None:
    """COPY … FROM STDIN, one table after another (a million tickets in minutes rather than an hour of INSERTs)."""
    ticket_cols = list(next(_rows(1, 1, seed))[0])
    history_cols = ["ticket_id", "customer_status", "at", "changelog_id"]
    comment_cols = ["ticket_id", "jira_id", "author_name", "public", "from_support", "body", "deleted",
                    "created_at", "updated_at"]
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            with cur.copy("COPY organizations (id, slug, name, created_at) FROM STDIN") as copy:
                for org in _organizations(orgs):
                    copy.write_row((org["id"], org["slug"], org["name"], org["created_at"]))
            with cur.copy(f"COPY tickets ({', '.join(ticket_cols)}) FROM STDIN") as copy:
                for ticket, _, _ in _rows(tickets, orgs, seed):
                    copy.write_row([ticket[c] for c in ticket_cols])
            with cur.copy(f"COPY status_history ({', '.join(history_cols)}) FROM STDIN") as copy:
                for _, change, _ in _rows(tickets, orgs, seed):
                    copy.write_row([change[c] for c in history_cols])
            with cur.copy(f"COPY comments ({', '.join(comment_cols)}) FROM STDIN") as copy:
                for _, _, notes in _rows(tickets, orgs, seed):
                    for note in notes:
                        copy.write_row([note[c] for c in comment_cols])
        raw.commit()
        # Explicit ids were copied: the sequences must continue after them, as after ordinary INSERTs.
        with raw.cursor() as cur:
            for table in ("organizations", "tickets"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        raw.commit()
        raw.driver_connection.autocommit = True  # VACUUM runs outside a transaction
        with raw.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    finally:
        raw.close()


def _add_participations(db: Any, tickets: int, orgs: int) -> None:
    """Make the participant reader a JSM participant of a few requests outside org-1 (once per database)."""
    db.execute(update(User).where(User.email == PARTICIPANT[0]).values(jira_account_id=PARTICIPANT[1]))
    if db.scalar(select(TicketParticipant.ticket_id).where(TicketParticipant.account_id == PARTICIPANT[1])):
        return
    # Tickets round-robin over organisations: ticket n belongs to organisation n % orgs + 1 (org-1 is id 2).
    outside = [n for n in range(3, tickets + 1, max(1, tickets // PARTICIPATIONS)) if n % orgs + 1 != 2]
    db.execute(insert(TicketParticipant), [{"ticket_id": n, "account_id": PARTICIPANT[1]}
                                           for n in outside[:PARTICIPATIONS]])


def _add_big_organisation(url: str, orgs: int) -> None:
    """Move every `BIG_SHARE`-th ticket to one organisation of its own (once per database), then VACUUM as
    after the fill: the update cleared the visibility map of nearly every page, which an ordinary
    install's autovacuum keeps mostly set."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if conn.scalar(select(Organization.id).where(Organization.slug == BIG_ORG)) is not None:
            engine.dispose()
            return
        big = orgs + 1
        conn.execute(insert(Organization).values(id=big, slug=BIG_ORG, name="Big organisation",
                                                 created_at=datetime.now(UTC)))
        conn.execute(update(Ticket).where(Ticket.id % BIG_SHARE == 0).values(organization_id=big))
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('organizations', 'id'), {big})"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE tickets"))
    engine.dispose()


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
    slowest = (0.0, "")
    by_url: dict[str, list[float]] = {}
    for i in range(rounds):
        url = urls[i % len(urls)]
        before = counter.count if counter else 0
        started = time.perf_counter()
        response = client.get(url)
        response.get_data()  # a streamed answer (CSV) counts until its last byte
        times.append((time.perf_counter() - started) * 1000)
        slowest = max(slowest, (times[-1], url))
        by_url.setdefault(url, []).append(times[-1])
        response.close()
        queries.append((counter.count if counter else 0) - before)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return {"n": rounds, "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1), "max_ms": round(times[-1], 1),
            "slowest": slowest[1],
            "p50_ms_by_url": {u: round(statistics.median(t), 1) for u, t in by_url.items()} if len(by_url) > 1 else {},
            "queries": f"{min(queries)}-{max(queries)}" if min(queries) != max(queries) else queries[0]}


def count_cpu(runtime: Any, admin_id: int, rounds: int = 3) -> dict[str, Any]:
    """CPU seconds of counting the administrator's summary of every organisation (what the job does), with
    working time from the calendar's day table and, as the same-run baseline, with the walk per request."""
    from mappings import WorkingCalendar
    from sync.reports.measures import median_working_hours
    from sync.reports.scope_summary import summary_figures
    from sync.scope import visible_condition

    table = WorkingCalendar.working_time
    seconds: dict[str, list[float]] = {"day_table": [], "walk": []}
    with runtime.sessions() as db:
        admin = db.get(User, admin_id)
        scope = select(Ticket).where(visible_condition(admin, "org"))
        calendar = runtime.mapping.policies.calendar
        for _ in range(rounds):
            for name, working_time in (("walk", WorkingCalendar.walked_working_time), ("day_table", table)):
                WorkingCalendar.working_time = working_time  # type: ignore[method-assign]
                try:
                    started = time.process_time()
                    figures = summary_figures(db, scope, calendar, UTC, reader=admin)
                    seconds[name].append(time.process_time() - started)
                finally:
                    WorkingCalendar.working_time = table  # type: ignore[method-assign]
        # The working-hours median alone, over the same spans (first responses of the last 90 days).
        since = datetime.now(UTC) - timedelta(days=90)
        spans = list(db.execute(scope.with_only_columns(Ticket.created_at, Ticket.first_response_at)
                                .where(Ticket.created_at >= since, Ticket.first_response_at.is_not(None))).tuples())
        median_seconds: dict[str, list[float]] = {"day_table": [], "walk": []}
        for _ in range(rounds):
            for name, working_time in (("walk", WorkingCalendar.walked_working_time), ("day_table", table)):
                WorkingCalendar.working_time = working_time  # type: ignore[method-assign]
                try:
                    started = time.process_time()
                    median_working_hours(calendar, spans)
                    median_seconds[name].append(time.process_time() - started)
                finally:
                    WorkingCalendar.working_time = table  # type: ignore[method-assign]
    return {"cpu_s_median": {k: round(statistics.median(v), 2) for k, v in seconds.items()},
            "cpu_s_all": {k: [round(x, 2) for x in v] for k, v in seconds.items()}, "rounds": rounds,
            "working_hours_median_cpu_s": {k: round(statistics.median(v), 3) for k, v in median_seconds.items()},
            "first_responses_in_working_hours": figures["sla"]["sample"]}


def forget_kept_summaries(runtime: Any, reader_ids: list[int]) -> None:
    """Delete the kept summaries (and count locks) of this run's readers from the Redis database it was given."""
    from sync.jobs import SUMMARY_KEY_PREFIX

    try:
        connection = runtime.redis
        for reader in reader_ids:
            for key in list(connection.scan_iter(match=f"{SUMMARY_KEY_PREFIX}*:{reader}:*")):
                connection.delete(key)
    except Exception as exc:  # a bench without Redis kept nothing
        print(f"kept summaries not deleted: {exc}", file=sys.stderr)


def main() -> None:
    """Fill a store, sign in as one organisation's viewer and time the three pages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--tickets", type=int)
    parser.add_argument("--orgs", type=int)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--keep-database", metavar="NAME",
                        help="PostgreSQL: reuse (or create and fill once) this database and never drop it")
    parser.add_argument("--only", help="pages to time, comma-separated "
                                       "(floor,list,request,summary,export_csv,admin_list,participant_list,admin_sorts,"
                                       "admin_search,admin_summary,admin_api,admin_live,big_list,big_more,"
                                       "big_summary)")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one request per page")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    drop, filled = None, False
    runtime: Any = None
    reader_ids: list[int] = []
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
        _add_big_organisation(url, orgs)
        from app import create_app
        from app.services.accounts import create_user, issue_token
        from sync.settings import Settings

        settings = Settings(data_dir=work, database_url=url, redis_url=os.environ.get("REDIS_URL"),
                            secret_key="bench")
        app = create_app(settings, {"TESTING": True, "WTF_CSRF_ENABLED": False})
        runtime = app.extensions["companion"]
        with runtime.sessions() as db, db.begin():
            for email, role, org in (("viewer@org1.test", "org_viewer", "org-1"), ("admin@bench.test", "admin", None),
                                     (PARTICIPANT[0], "org_viewer", "org-1"),
                                     ("viewer@big.test", "org_viewer", BIG_ORG)):
                if db.scalar(select(User.id).where(User.email == email)) is None:
                    create_user(db, email=email, role=role, org_slug=org, password="bench-password")
            _add_participations(db, tickets, orgs)
            admin_user = db.scalars(select(User).where(User.email == "admin@bench.test")).one()
            api_token = issue_token(db, admin_user, "bench")
            reader_ids = list(db.scalars(select(User.id)))
        client, admin, participant, big = (app.test_client() for _ in range(4))
        api = app.test_client()
        api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_token}"
        big.post("/login", data={"email": "viewer@big.test", "password": "bench-password"})
        client.post("/login", data={"email": "viewer@org1.test", "password": "bench-password"})
        admin.post("/login", data={"email": "admin@bench.test", "password": "bench-password"})
        participant.post("/login", data={"email": PARTICIPANT[0], "password": "bench-password"})
        keys = [f"SUP-{n}" for n in range(1, tickets + 1) if n % orgs + 1 == 2][:20]
        pages = {
            # The same-run floor: the app's cheapest answer through the same client (one round trip each
            # to the database and Redis), so a loaded machine shows in both figures alike.
            "floor": (["/readyz"], args.rounds),
            "list": (["/", "/?status=in_progress", "/?q=printer", "/?sort=priority&dir=asc", "/?page=2"],
                     args.rounds),
            "request": ([f"/tickets/{k}" for k in keys], args.rounds),
            "summary": (["/summary"], args.rounds),
            "export_csv": (["/export.csv"], max(5, args.rounds // 4)),
            # An administrator's list spans every organisation: the whole table is its scope.
            "admin_list": (["/?scope=org", "/?scope=org&status=in_progress", "/?scope=org&sort=priority&dir=asc",
                            "/?scope=org&page=2"], args.rounds),
        }
        sorts = ("created", "resolved", "key", "summary", "type", "reporter", "assignee")
        more = {
            # Every other sort of the administrator's list, both ways.
            "admin_sorts": ([f"/?scope=org&sort={s}&dir={d}" for s in sorts for d in ("asc", "desc")],
                            max(args.rounds, 28)),
            # A word many subjects hold, a key, and a phrase of one subject only.
            "admin_search": (["/?scope=org&q=printer", "/?scope=org&q=SUP-4242", "/?scope=org&q=number+987654"],
                             args.rounds),
            "admin_summary": (["/summary?scope=org"], args.rounds),
            # An administrator's API token: the whole table, newest activity first, as the API orders it.
            "admin_api": (["/api/v1/tickets?scope=org", "/api/v1/tickets?scope=org&page=2&per_page=200",
                           "/api/v1/tickets?scope=org&status=in_progress", "/api/v1/tickets?scope=org&q=printer",
                           "/api/v1/tickets"], args.rounds),
            # The list's live poll (every 5 s per open tab), without an ETag: the full answer.
            "admin_live": (["/live/list?scope=org", "/live/list?scope=org&sort=created&dir=asc",
                            "/live/list?scope=org&status=in_progress"], args.rounds),
            # An organisation of 50,000 tickets: its first page, then other pages, sorts, filters, the summary.
            "big_list": (["/"], args.rounds),
            # A word a quarter of its subjects hold and a phrase of one subject only (ticket 987640 is the
            # big organisation's in a million); the summary on its own.
            "big_more": (["/?page=2", "/?status=in_progress", "/?sort=created&dir=asc", "/?sort=priority&dir=asc",
                          "/?q=printer", "/?q=number+987640", "/live/list"], args.rounds),
            "big_summary": (["/summary"], args.rounds),
        }
        pages.update(more)
        # The organisation's list read by a viewer who also takes part in other organisations' requests.
        pages["participant_list"] = pages["list"]
        wanted = args.only.split(",") if args.only else list(pages)
        counter = QueryCounter(runtime.engine)
        reader = {name: admin if name.startswith("admin") else client for name in pages}
        reader.update(participant_list=participant, admin_api=api, big_list=big, big_more=big, big_summary=big)
        results = {}
        for name in wanted:
            results[name] = measure(reader[name], *pages[name], counter)
        if args.show_sql:
            for name in wanted:
                counter.statements.clear()
                reader[name].get(pages[name][0][0]).close()
                print(f"-- {name}: {len(counter.statements)} statements", file=sys.stderr)
                for statement in counter.statements:
                    print(" ".join(statement.split()), file=sys.stderr)
        if "admin_summary" in wanted:
            info["summary_count"] = count_cpu(runtime, admin_user.id)
        runtime.close()
        print(json.dumps({"benchmark": "portal", "database": make_url(url).get_backend_name(), "tickets": tickets,
                          "organizations": orgs, "tickets_per_org": tickets // orgs,
                          "big_organisation_tickets": tickets // BIG_SHARE, **info, "results": results},
                         indent=2))
    finally:
        if runtime is not None:
            forget_kept_summaries(runtime, reader_ids)
        if drop:
            drop()


if __name__ == "__main__":
    main()
