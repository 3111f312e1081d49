"""Server time (p50/p95) of a share link's public routes: with the per-read count and without it
(`--compare count`), or reading the headline and counts alone against the whole summary (`--compare overview`).

    .venv/bin/python bench/share_bench.py                   # SQLite (the embedded default), 2000 tickets
    .venv/bin/python bench/share_bench.py --compare overview --tickets 20000
    .venv/bin/python bench/share_bench.py --tickets 5000 --requests 300 --database-url postgresql+psycopg://…

One organisation's requests and history are bulk-inserted; each route is read in process (Flask's test
client, so the figure is the server's own time) `--requests` times each way, the two ways alternating
request by request (the same machine load for both). `overview` times badge, JSON and card as served
(`build_overview`) and with the whole `build_summary` swapped in, as they read before. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert

from app import create_app
from app.portal import share_public
from app.services.accounts import hash_token
from app.services.summary import build_summary
from sync.db import upgrade
from sync.models import Organization, StatusHistory, Ticket
from sync.settings import Settings

ROUTES = ("/badge.svg", "/summary.json", "/embed", "/feed.atom")
STATUSES = [("open", "open"), ("in_progress", "open"), ("awaiting_customer", "open"), ("resolved", "resolved"),
            ("closed", "closed")]


def _fill(url: str, tickets: int, token: str) -> None:
    engine = create_engine(url)
    now = datetime.now(UTC)
    rng = random.Random(7)
    with engine.begin() as db:
        org = db.execute(insert(Organization).values(slug="acme", name="Acme", share_token_hash=hash_token(token),
                                                     share_locale="en", share_with_subjects=False,
                                                     share_access_count=0, created_at=now)
                         .returning(Organization.id)).scalar_one()
        rows, history = [], []
        for n in range(tickets):
            status, bucket = rng.choice(STATUSES)
            created = now - timedelta(hours=rng.randint(1, 24 * 120))
            rows.append({"jira_id": str(n), "key": f"SUP-{n}", "project_key": "SUP", "summary": f"Request {n}",
                         "organization_id": org, "customer_status": status, "customer_priority": "medium",
                         "bucket": bucket, "created_at": created, "jira_updated_at": created,
                         "resolved_at": created + timedelta(hours=5) if bucket != "open" else None,
                         "first_response_at": created + timedelta(hours=1), "last_synced_at": now,
                         "status_fell_back": False, "deleted": False})
        db.execute(insert(Ticket), rows)
        ids = [r[0] for r in db.execute(Ticket.__table__.select().with_only_columns(Ticket.id, Ticket.created_at))]
        for ticket_id in ids:
            history.append({"ticket_id": ticket_id, "customer_status": rng.choice(STATUSES)[0],
                            "at": now - timedelta(hours=rng.randint(1, 24 * 90)), "changelog_id": str(ticket_id)})
        db.execute(insert(StatusHistory), history)
    engine.dispose()


def _stats(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {"p50_ms": round(statistics.median(samples), 2), "p95_ms": round(samples[int(len(samples) * .95) - 1], 2)}


def _time(client: Any, path: str, count: int, ways: dict[str, tuple[str, Any]]) -> dict[str, dict[str, float]]:
    """Reads each way (name → (attribute of share_public, what it is set to)), alternated request by request."""
    saved = {attribute: getattr(share_public, attribute) for attribute, _ in ways.values()}
    samples: dict[str, list[float]] = {name: [] for name in ways}
    names = list(ways)
    try:
        for n in range(len(names) * count):
            name = names[n % len(names)]
            attribute, value = ways[name]
            setattr(share_public, attribute, value)
            started = time.perf_counter()
            response = client.get(path)
            samples[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
            setattr(share_public, attribute, saved[attribute])
    finally:
        for attribute, value in saved.items():
            setattr(share_public, attribute, value)
    return {name: _stats(values) for name, values in samples.items()}


def _no_count(*_args: Any) -> None:
    return None


def _whole_summary(db: Any, scope: Any, mapping: Any, locale: str, *, now: Any, translations: Any) -> dict[str, Any]:
    """How badge, JSON and card read before `build_overview`: the whole summary (a superset of its keys)."""
    return build_summary(db, scope, mapping, locale, mapping.policies.calendar.zone, now=now,
                         translations=translations, with_subjects=False)


COMPARISONS: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, Any]]]] = {
    "count": (ROUTES, {"counted": ("record_access", share_public.record_access),
                       "not_counted": ("record_access", _no_count)}),
    "overview": (("/badge.svg", "/summary.json", "/embed"),
                 {"overview": ("build_overview", share_public.build_overview),
                  "whole_summary": ("build_overview", _whole_summary)}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--compare", choices=sorted(COMPARISONS), default="count")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="share-bench-"))
    url = args.database_url or f"sqlite:///{data_dir / 'bench.db'}"
    upgrade(url)
    token = "bench-token-" + "x" * 30
    _fill(url, args.tickets, token)
    settings = Settings(data_dir=data_dir, database_url=url, secret_key="bench",
                        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    app = create_app(settings, {"TESTING": True})
    client = app.test_client()
    base = f"/s/{token}"
    out: dict[str, Any] = {"database": url.split(":")[0], "tickets": args.tickets, "requests": args.requests,
                           "compare": args.compare}
    routes, ways = COMPARISONS[args.compare]
    for route in routes:
        client.get(base + route)  # warm caches and the first compile of each statement
        out[route] = _time(client, base + route, args.requests, ways)
    runtime = app.extensions["companion"]
    with runtime.sessions() as db:
        out["reads_counted"] = db.get(Organization, 1).share_access_count
    runtime.close()
    shutil.rmtree(data_dir, ignore_errors=True)  # the SQLite file and anything the app wrote there
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
