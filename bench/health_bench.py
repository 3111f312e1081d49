"""Server time (p50/p95) of the sync-health snapshot and a /metrics scrape in a big store, without and with the
health indexes of migration 0019, beside a same-run floor, and each statement's EXPLAIN (ANALYZE, BUFFERS).

    .venv/bin/python bench/portal_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres \\
        --tickets 1000000 --orgs 10000 --keep-database companion_health --only floor --rounds 1
    .venv/bin/python bench/health_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1/companion_health

The first fills the tickets (and is kept); this adds `--inbox` inbox rows once (INSERT … SELECT over
generate_series: most applied, a few pending, failed and ignored, as a long-running install's inbox is) and
marks every thousandth ticket's status as fallen back. Then, for each variant (the two indexes dropped, then
built again), it times `snapshot()` as /metrics and the admin page call it, a GET /metrics (the unmapped
values' count kept between scrapes, as the web app keeps it), a scrape counting them afresh (as every scrape
did before) and `unmapped_report` alone, beside the floors: `SELECT 1` through the same sessions and a
GET /readyz through the same client. Prints one JSON object.
The database is migrated to the head and left with the indexes; drop it when done.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, text

# As migration 0019 builds them.
INDEXES = {"ix_tickets_live_project_updated": "(project_key, jira_updated_at) WHERE deleted IS false",
           "ix_tickets_live_fell_back": "(id) WHERE status_fell_back IS true AND deleted IS false"}


def fill_inbox(url: str, rows: int) -> dict[str, Any]:
    """Inbox rows up to `rows` (1 in 1000 failed, 1 in 1000 ignored, the last 300 pending, the rest applied)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    with engine.connect() as conn:
        have = conn.execute(text("SELECT coalesce(max(id), 0) FROM inbound_events")).scalar_one()
        if have < rows:
            conn.execute(text("""
                INSERT INTO inbound_events (id, delivery_id, webhook_event, issue_key, project_key, event_timestamp,
                                            payload, state, reason, attempts, received_at, applied_at)
                SELECT g, 'bench-' || g, 'jira:issue_updated', 'SUP-' || (g % 1000000 + 1), 'SUP',
                       (extract(epoch FROM now()) * 1000)::bigint - (:rows - g) * 50, repeat('{"x": 1} ', 60),
                       CASE WHEN g > :rows - 300 THEN 'pending' WHEN g % 1000 = 0 THEN 'failed'
                            WHEN g % 1000 = 1 THEN 'ignored' ELSE 'applied' END,
                       CASE WHEN g % 1000 = 0 THEN 'bench failure' END, 1,
                       now() - (:rows - g) * interval '50 milliseconds',
                       CASE WHEN g <= :rows - 300 THEN now() END
                FROM generate_series(:first, :rows) AS g"""), {"first": have + 1, "rows": rows})
            conn.execute(text("SELECT setval(pg_get_serial_sequence('inbound_events', 'id'), :rows)"),
                         {"rows": rows})
            conn.execute(text("UPDATE tickets SET status_fell_back = true WHERE id % 1000 = 7"))
            conn.execute(text("VACUUM ANALYZE inbound_events"))
            conn.execute(text("VACUUM ANALYZE tickets"))
    engine.dispose()
    return {"inbox_rows": rows, "inbox_fill_seconds": round(time.perf_counter() - started, 1)}


def timed(call: Callable[[], Any], rounds: int) -> dict[str, float]:
    call()  # warm: the first call fills caches a scrape every few seconds keeps warm
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 2),
            "max_ms": round(samples[-1], 2)}


def explained(engine: Any, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement a scrape ran: its server time, top nodes and buffers."""
    out = []
    with engine.connect() as conn:
        for statement, parameters in statements:
            lines = [r[0] for r in conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)]
            scans = [line.strip() for line in lines if "Scan" in line]
            out.append({"sql": " ".join(statement.split())[:160],
                        "execution_ms": float(lines[-1].split()[2]),
                        "scans": scans[:4],
                        "buffers": next((line.strip() for line in lines if "Buffers" in line), "")})
    return out


def run_variant(app: Any, runtime: Any, rounds: int) -> dict[str, Any]:
    from app.metrics import exposition
    from sync.inbound.health import snapshot
    from sync.projection.unmapped import unmapped_report

    client = app.test_client()

    def select_one() -> None:
        with runtime.sessions() as db:
            db.execute(text("SELECT 1"))

    def scrape() -> None:
        response = client.get("/metrics")
        assert response.status_code == 200, response.status_code
        response.close()

    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    event.listen(runtime.engine, "before_cursor_execute", keep)
    exposition(runtime)  # every statement, the unmapped values' too (a GET keeps their count a while)
    event.remove(runtime.engine, "before_cursor_execute", keep)
    return {
        "floor_select_1": timed(select_one, rounds),
        "floor_get_readyz": timed(lambda: client.get("/readyz").close(), rounds),
        "snapshot_for_metrics": timed(lambda: snapshot(runtime, failed_limit=0), rounds),
        "snapshot_for_admin": timed(lambda: snapshot(runtime), rounds),
        "get_metrics": timed(scrape, rounds),
        # A scrape that counts the unmapped values afresh each time, as every scrape did before.
        "metrics_uncached_unmapped": timed(lambda: exposition(runtime), rounds),
        "unmapped_report": timed(lambda: unmapped_report(runtime), rounds),
        "metrics_statements": explained(runtime.engine, statements),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database filled by portal_bench.py")
    parser.add_argument("--inbox", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    from app import create_app
    from sync.db import upgrade
    from sync.settings import Settings

    upgrade(args.database_url)
    info = fill_inbox(args.database_url, args.inbox)
    with create_engine(args.database_url).connect() as conn:
        info["live_tickets"] = conn.execute(text("SELECT count(*) FROM tickets WHERE deleted IS false")).scalar_one()
    work = Path(tempfile.mkdtemp(prefix="health-bench-"))
    settings = Settings(data_dir=work, database_url=args.database_url, redis_url=os.environ.get("REDIS_URL"),
                        secret_key="bench")
    app = create_app(settings, {"TESTING": True})
    runtime = app.extensions["companion"]
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    results: dict[str, Any] = {}
    try:
        with admin.connect() as conn:
            for name in INDEXES:
                conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        results["without_indexes"] = run_variant(app, runtime, args.rounds)
        started = time.perf_counter()
        with admin.connect() as conn:
            for name, columns in INDEXES.items():
                conn.execute(text(f"CREATE INDEX {name} ON tickets {columns}"))
        info["index_build_seconds"] = round(time.perf_counter() - started, 1)
        with admin.connect() as conn:
            sizes = conn.execute(text("SELECT relname, pg_relation_size(oid) FROM pg_class WHERE relname IN "
                                      "('tickets', 'ix_tickets_live_project_updated', 'ix_tickets_live_fell_back')"))
            info["sizes_mb"] = {name: round(size / 2**20, 1) for name, size in sizes}
        results["with_indexes"] = run_variant(app, runtime, args.rounds)
    finally:
        with admin.connect() as conn:
            for name, columns in INDEXES.items():
                exists = conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()
                if exists is None:
                    conn.execute(text(f"CREATE INDEX {name} ON tickets {columns}"))
        admin.dispose()
        runtime.close()
    print(json.dumps({"benchmark": "health", **info, "results": results}, indent=2))


if __name__ == "__main__":
    main()
