"""The summary of every organisation is kept for minutes when the table is big, and never for anyone else."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from flask_babel import get_translations
from sqlalchemy import select, update

from app.services import summary_cache
from app.services.scope import visible_tickets
from app.services.serializers import iso
from app.services.summary import build_summary
from sync.models import Ticket, User
from tests.portal.conftest import sign_in


def _reader(runtime: Any, email: str) -> User:
    with runtime.sessions() as db:
        user = db.scalars(select(User).where(User.email == email)).one()
        user.participations  # noqa: B018 - loaded as a signed-in reader's are
        user.groups  # noqa: B018
        db.expunge(user)
        return user


def _counting_build(builds: list[int]) -> Any:
    def build(db: Any) -> dict[str, Any]:
        builds.append(1)
        return {"generated": iso(datetime.now(UTC)), "open": db.scalar(
            select(Ticket.id).where(Ticket.bucket == "open").order_by(Ticket.id).limit(1)), "n": len(builds)}
    return build


def _wait_for_builders() -> None:
    for thread in threading.enumerate():
        if thread.name == "summary-build":
            thread.join(timeout=30)


def test_a_big_table_summary_is_kept_then_rebuilt_in_the_background(runtime: Any, seeded: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary_cache, "KEEP_ABOVE", 1)  # the seeded tickets count as a big table
    admin = _reader(runtime, "admin@example.test")
    builds: list[int] = []
    build = _counting_build(builds)
    with runtime.sessions() as db:
        first = summary_cache.kept_summary(db, runtime.sessions, runtime.redis, admin, "org", ("en", "UTC"), build)
        again = summary_cache.kept_summary(db, runtime.sessions, runtime.redis, admin, "org", ("en", "UTC"), build)
    assert (first["n"], again["n"], len(builds)) == (1, 1, 1)  # the second reader got the kept copy
    assert again["counted_at"] == first["generated"]
    # Another language (or reader) is another summary.
    with runtime.sessions() as db:
        summary_cache.kept_summary(db, runtime.sessions, runtime.redis, admin, "org", ("ru", "UTC"), build)
    assert len(builds) == 2
    # Past its freshness the kept copy still answers, while one background build makes the next.
    monkeypatch.setattr(summary_cache, "FRESH_SECONDS", -1)
    with runtime.sessions() as db:
        stale = summary_cache.kept_summary(db, runtime.sessions, runtime.redis, admin, "org", ("en", "UTC"), build)
    assert stale["n"] == 1
    _wait_for_builders()
    assert len(builds) == 3
    monkeypatch.setattr(summary_cache, "FRESH_SECONDS", 300)
    with runtime.sessions() as db:
        fresh = summary_cache.kept_summary(db, runtime.sessions, runtime.redis, admin, "org", ("en", "UTC"), build)
    assert fresh["n"] == 3 and len(builds) == 3


@pytest.mark.parametrize("email", ["viewer@acme.test", "gina@globex.test", "alice@acme.test"])
def test_no_one_but_an_administrator_of_every_organisation_gets_a_kept_summary(
        runtime: Any, seeded: Any, monkeypatch: pytest.MonkeyPatch, email: str) -> None:
    monkeypatch.setattr(summary_cache, "KEEP_ABOVE", 0)
    reader = _reader(runtime, email)
    builds: list[int] = []
    for _ in range(2):
        with runtime.sessions() as db:
            data = summary_cache.kept_summary(db, runtime.sessions, runtime.redis, reader, "mine",
                                              ("en", "UTC"), _counting_build(builds))
        assert "counted_at" not in data
    assert len(builds) == 2
    assert not runtime.redis.keys("companion:summary:*")


def test_a_small_table_is_summarised_for_each_request(runtime: Any, seeded: Any) -> None:
    admin = _reader(runtime, "admin@example.test")
    builds: list[int] = []
    for _ in range(2):
        with runtime.sessions() as db:
            summary_cache.kept_summary(db, runtime.sessions, runtime.redis, admin, "org", ("en", "UTC"),
                                       _counting_build(builds))
    assert len(builds) == 2


def test_the_kept_page_is_the_built_summary_and_says_when_it_was_counted(
        app: Any, client: Any, runtime: Any, seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept copy survives its trip through Redis unchanged, and the page shows its age."""
    monkeypatch.setattr(summary_cache, "KEEP_ABOVE", 1)
    sign_in(client, "admin@example.test")
    page = client.get("/summary?scope=org").data.decode()
    assert "Figures of every organisation, counted" in page
    admin = _reader(runtime, "admin@example.test")
    (key,) = runtime.redis.keys("companion:summary:org:*")
    kept = json.loads(runtime.redis.get(key))["data"]
    with app.test_request_context(), runtime.sessions() as db:
        built = build_summary(db, visible_tickets(admin, "org"), runtime.mapping, "en", UTC,
                              translations=get_translations(), reader=admin)
    assert {k: v for k, v in kept.items() if k != "generated"} == {k: v for k, v in built.items() if k != "generated"}
    # A ticket that moves is not in the kept figures until the next build.
    with runtime.sessions() as db, db.begin():
        db.execute(update(Ticket).values(customer_status="resolved", bucket="resolved"))
    assert "Figures of every organisation, counted" in client.get("/summary?scope=org").data.decode()
    assert json.loads(runtime.redis.get(key))["data"]["counts"] == kept["counts"]
