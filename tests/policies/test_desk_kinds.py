"""Paid support or free help per desk, learnt from the SLA mirror, on SQLite and PostgreSQL."""

from __future__ import annotations

import yaml
from sqlalchemy.orm import sessionmaker

from mappings import Mapping, default_yaml, load_default
from sync.db import make_engine
from sync.models import Ticket, TicketSla, utcnow
from sync.policies.desk_kinds import DeskKind, desk_kinds

METRIC = {"id": "1", "name": "Time to first response", "completed": [], "ongoing": None}


def test_a_desk_is_paid_when_a_request_has_an_sla_free_when_none_has(any_database_url: str) -> None:
    engine = make_engine(any_database_url)
    sessions = sessionmaker(engine)
    rows = [("SUP-1", "SUP", [METRIC]), ("SUP-2", "SUP", []), ("HELP-1", "HELP", []), ("HELP-2", "HELP", []),
            ("NEW-1", "NEW", None)]
    with sessions() as db, db.begin():
        for n, (key, project, metrics) in enumerate(rows, start=1):
            ticket = Ticket(jira_id=str(n), key=key, project_key=project, customer_status="open",
                            customer_priority="medium", bucket="open", created_at=utcnow(), jira_updated_at=utcnow())
            db.add(ticket)
            db.flush()
            if metrics is not None:  # NEW-1's SLAs were never asked for
                db.add(TicketSla(ticket_id=ticket.id, metrics=metrics, signature="s"))
    with sessions() as db:
        assert desk_kinds(db, load_default(), ["SUP", "HELP", "NEW", "NONE"]) == \
            {"SUP": DeskKind.PAID, "HELP": DeskKind.FREE}
        # A mapping that names the desks with SLAs decides for every desk, asked or not.
        doc = yaml.safe_load(default_yaml())
        doc["sla"]["projects"] = ["new"]
        assert desk_kinds(db, Mapping.from_dict(doc), ["SUP", "NEW"]) == {"SUP": DeskKind.FREE, "NEW": DeskKind.PAID}
    engine.dispose()
