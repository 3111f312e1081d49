"""A seeded October 2026 for the monthly report, with every figure worked out by hand below.

The support calendar is the default mapping's: Europe/Moscow (UTC+3), Monday to Friday, 10:00-19:00, no
Russian public holiday falls in late September or October 2026. Times below are Moscow times.

  A  opened Mon 5 Oct 10:00, answered 12:30 (2.5 wh), resolved Tue 6 Oct 15:00 (9 + 5 = 14 wh)
  B  opened Fri 9 Oct 18:00, answered Mon 12 Oct 11:30 (1 + 1.5 = 2.5 wh), waits for the customer since then
  C  opened Tue 20 Oct 09:00, answered 10:30 (0.5 wh), resolved Wed 21 Oct 19:30 (9 + 9 = 18 wh)
  D  opened Mon 28 Sep 10:00 (September), resolved Thu 1 Oct 12:00 (9 + 9 + 9 + 2 = 29 wh)
  G  opened Thu 15 Oct 10:00, answered Fri 16 Oct 12:00 (9 + 2 = 11 wh), resolved Mon 2 Nov (November)
  E  opened Sun 1 Nov 01:00 Moscow = Sat 31 Oct 22:00 UTC: November in Moscow, October in UTC
  X  Globex: opened and resolved in October (never in Acme's report)

Opened in October: A, B, C, G = 4. Resolved in October: A, C, D = 3.
Median first response of A, B, C, G: [0.5, 2.5, 2.5, 11] → 2.5 wh. Median resolution of A, C, D: [14, 18, 29] → 18 wh.
SLA cycles decided in October: A met (stopped 5 Oct), C breached (stopped 21 Oct), B's running cycle breached
when its breach time (12 Oct) passed; D's cycle stopped in September. So 1 met, 2 breached.
Waiting for the customer: B. Open at the end of 31 Oct: B and G (G was resolved on 2 Nov) = 2.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from sync.models import EmailMode, NotificationPreference, Organization, StatusHistory, TicketSla, User
from tests.helpers import make_account
from tests.portal.conftest import _ticket

MSK = timezone(timedelta(hours=3))
# 06:30 on 1 November in Moscow: the report hour has come there, not yet in UTC (03:30).
REPORT_RUN = datetime(2026, 11, 1, 6, 30, tzinfo=MSK)
EXPECTED = {"opened": 4, "resolved": 3, "median_first_response_hours": 2.5, "median_resolution_hours": 18.0,
            "sla": {"met": 1, "breached": 2}}


def msk(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MSK).astimezone(UTC)


def _cycle(stop: datetime, breached: bool) -> list[dict[str, Any]]:
    return [{"name": "Time to first response", "completed": [{"stop": stop.isoformat(), "breached": breached}],
             "ongoing": None}]


def seed_october(runtime: Any) -> dict[str, int]:
    """Acme's and Globex's October; viewer (Moscow, Russian) and admin (UTC) of Acme opted in, Globex's viewer too."""
    make_account(runtime, "viewer@acme.test", "org_viewer", "acme")
    make_account(runtime, "boss@acme.test", "org_admin", "acme")
    make_account(runtime, "alice@acme.test", "customer", "acme")
    make_account(runtime, "gina@globex.test", "org_viewer", "globex")
    with runtime.sessions() as db, db.begin():
        orgs = {o.slug: o.id for o in db.scalars(select(Organization))}
        acme = orgs["acme"]
        rows = {
            "A": _ticket(acme, 1, "SUP-1", summary="Printer A", customer_status="resolved", bucket="resolved",
                         created_at=msk(10, 5, 10), first_response_at=msk(10, 5, 12, 30), resolved_at=msk(10, 6, 15)),
            "B": _ticket(acme, 2, "SUP-2", summary="Send the logs B", customer_status="awaiting_customer",
                         created_at=msk(10, 9, 18), first_response_at=msk(10, 12, 11, 30),
                         jira_updated_at=msk(10, 12, 11, 30)),
            "C": _ticket(acme, 3, "SUP-3", summary="VPN C", customer_status="resolved", bucket="resolved",
                         created_at=msk(10, 20, 9), first_response_at=msk(10, 20, 10, 30),
                         resolved_at=msk(10, 21, 19, 30)),
            "D": _ticket(acme, 4, "SUP-4", summary="Old D", customer_status="closed", bucket="closed",
                         created_at=msk(9, 28, 10), resolved_at=msk(10, 1, 12)),
            "G": _ticket(acme, 5, "SUP-5", summary="Late G", customer_status="resolved", bucket="resolved",
                         created_at=msk(10, 15, 10), first_response_at=msk(10, 16, 12), resolved_at=msk(11, 2, 12)),
            "E": _ticket(acme, 6, "SUP-6", summary="Night E", customer_status="open", created_at=msk(11, 1, 1)),
            "X": _ticket(orgs["globex"], 7, "GLX-1", summary="Globex X", customer_status="resolved",
                         bucket="resolved", created_at=msk(10, 7, 10), first_response_at=msk(10, 7, 11),
                         resolved_at=msk(10, 8, 10)),
        }
        db.add_all(rows.values())
        db.flush()
        db.add_all([
            StatusHistory(ticket_id=rows["B"].id, customer_status="awaiting_customer", at=msk(10, 12, 11, 30),
                          changelog_id="r1"),
            TicketSla(ticket_id=rows["A"].id, signature="a", metrics=_cycle(msk(10, 5, 12, 30), False)),
            TicketSla(ticket_id=rows["C"].id, signature="c", metrics=_cycle(msk(10, 21, 19, 30), True)),
            TicketSla(ticket_id=rows["D"].id, signature="d", metrics=_cycle(msk(9, 28, 11), False)),
            TicketSla(ticket_id=rows["B"].id, signature="b", metrics=[{
                "name": "Time to first response", "completed": [],
                "ongoing": {"breach": msk(10, 12, 10).isoformat(), "paused": False, "breached": True}}]),
        ])
        users = {u.email: u for u in db.scalars(select(User))}
        users["viewer@acme.test"].timezone, users["viewer@acme.test"].locale = "Europe/Moscow", "ru"
        users["boss@acme.test"].timezone, users["boss@acme.test"].locale = "UTC", "en"
        users["gina@globex.test"].timezone = "Europe/Moscow"
        for address in ("viewer@acme.test", "boss@acme.test", "gina@globex.test"):
            db.add(NotificationPreference(user_id=users[address].id, email=EmailMode.OFF, monthly_report=True))
        return {"acme": acme, "globex": orgs["globex"]}
