"""What request participants cost the portal's list: one organisation's first page for three readers.

    .venv/bin/python bench/participants_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres \
        --tickets 1000000 --orgs 20        # 50,000 requests per organisation; a scratch database, dropped after
    ... --keep-database companion_participants   # fill once, reuse on later runs (never dropped)

Readers of organisation 1 (`org-0`'s neighbour `org-1`): an org viewer whose account takes part in requests of
its own organisation only, one who takes part in one request of another organisation (the only reader whose
organisation scope reaches beyond it), and a customer who takes part in 50 requests across organisations
("My requests"). Prints one JSON object with p50/p95 per reader, beside the same-run floor (`/readyz`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, select
from sqlalchemy.engine import make_url

from bench.portal_bench import _scratch_postgres, fill, measure
from sync.models import Ticket, TicketParticipant, User

READERS = {  # email: role, account, tickets it takes part in (ticket id → organisation id is n % orgs + 1)
    "home@org1.test": ("org_viewer", "acc-home", "own"),
    "away@org1.test": ("org_viewer", "acc-away", "elsewhere"),
    "cust@org1.test": ("customer", "acc-cust", "spread"),
}


def _participations(url: str, tickets: int, orgs: int) -> None:
    """Rows for the three readers, plus one participant on every 20th request (a store where they are common)."""
    engine = create_engine(url)
    own = list(range(1, tickets + 1, orgs))[:50]  # requests of `org-1` (id 2: n % orgs == 1)
    rows = [{"ticket_id": n, "account_id": f"acc-{n % 997}"} for n in range(1, tickets + 1, 20)]
    rows += [{"ticket_id": n, "account_id": "acc-home"} for n in own]
    rows += [{"ticket_id": own[0] + 1, "account_id": "acc-away"}]  # one request of organisation 3
    rows += [{"ticket_id": n, "account_id": "acc-cust"} for n in range(7, tickets + 1, tickets // 50)][:50]
    with engine.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(TicketParticipant), rows[start:start + 10_000])
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--keep-database", metavar="NAME")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="participants-bench-"))
    drop, filled = None, False
    if args.database_url:
        url, drop, filled = _scratch_postgres(args.database_url, args.keep_database)
    else:
        url = f"sqlite:///{work / 'bench.db'}"
    from sync.db import upgrade

    upgrade(url)
    try:
        if not filled:
            fill(url, args.tickets, args.orgs)
            _participations(url, args.tickets, args.orgs)
        from app import create_app
        from app.services.accounts import create_user
        from sync.settings import Settings

        settings = Settings(data_dir=work, database_url=url, redis_url=os.environ.get("REDIS_URL"),
                            secret_key="bench")
        app = create_app(settings, {"TESTING": True, "WTF_CSRF_ENABLED": False})
        runtime = app.extensions["companion"]
        with runtime.sessions() as db, db.begin():
            for email, (role, account, _) in READERS.items():
                if db.scalar(select(User.id).where(User.email == email)) is None:
                    create_user(db, email=email, role=role, org_slug="org-1", password="bench-password",
                                jira_account_id=account)
            assert db.scalar(select(Ticket.id).limit(1)) is not None
        results = {}
        for email, (role, _, kind) in READERS.items():
            client = app.test_client()
            client.post("/login", data={"email": email, "password": "bench-password"})
            scope = "org" if role == "org_viewer" else "mine"
            if kind == "own":
                results["floor"] = measure(client, ["/readyz"], args.rounds)
            results[f"{kind} ({role}, {scope})"] = measure(client, [f"/?scope={scope}", f"/?scope={scope}&page=2"],
                                                          args.rounds)
        runtime.close()
        print(json.dumps({"benchmark": "participants", "database": make_url(url).get_backend_name(),
                          "tickets": args.tickets, "organizations": args.orgs, "results": results}, indent=2))
    finally:
        if drop:
            drop()


if __name__ == "__main__":
    main()
