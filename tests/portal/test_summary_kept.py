"""The summary of every organisation, and a big organisation's, is counted by a worker's job and kept for minutes,
and no one's own requests are; without Redis or a worker it is counted in the request."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest
import redis
from flask_babel import get_translations
from rq import Queue
from sqlalchemy import select, update

from app.services import summary_cache
from app.services.scope import visible_tickets
from app.services.summary import build_summary
from sync.jobs import request_count, summary_key
from sync.models import Ticket, User
from sync.reports.scope_summary import summary_figures
from sync.worker import make_worker
from tests.portal.conftest import sign_in

COUNTING_TEXT = "The figures of every organisation are being counted"


def _reader(runtime: Any, email: str) -> User:
    with runtime.sessions() as db:
        user = db.scalars(select(User).where(User.email == email)).one()
        user.participations  # noqa: B018 - loaded as a signed-in reader's are
        user.groups  # noqa: B018
        db.expunge(user)
        return user


def _read(runtime: Any, user: User, builds: list[int], scope: str = "org",
          connection: redis.Redis | None = None) -> dict[str, Any]:
    """What `kept_summary` gives `user`, counting in the request through a counter of such counts."""
    with runtime.sessions() as db:
        def count() -> dict[str, Any]:
            builds.append(1)
            return summary_figures(db, visible_tickets(user, scope), runtime.mapping.policies.calendar, UTC,
                                   reader=user)
        return summary_cache.kept_summary(db, connection if connection is not None else runtime.redis, user, scope,
                                          "UTC", count)


def _without_generated(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("generated", "counted_at")}


def _run_jobs(runtime: Any, connection: redis.Redis) -> None:
    make_worker(runtime, ["maintenance"], connection=connection).work(burst=True)


@pytest.fixture
def worker_up(runtime: Any, redis_client: redis.Redis) -> Iterator[None]:
    """A worker on queue "maintenance" has announced itself (as `companion worker` does when it starts)."""
    listener = make_worker(runtime, ["maintenance"], connection=redis_client)
    listener.register_birth()
    yield
    listener.register_death()


def test_a_big_table_summary_is_counted_by_one_job_kept_and_counted_again_when_stale(
        runtime: Any, seeded: Any, redis_client: redis.Redis, worker_up: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary_cache, "KEEP_ABOVE", 1)  # the seeded tickets count as a big table
    admin = _reader(runtime, "admin@example.test")
    builds: list[int] = []
    # Nothing kept yet: the reader is told it is being counted, and however many read, one job counts it.
    assert _read(runtime, admin, builds) == summary_cache.COUNTING
    assert _read(runtime, admin, builds) == summary_cache.COUNTING
    assert (len(builds), Queue("maintenance", connection=redis_client).count) == (0, 1)
    _run_jobs(runtime, redis_client)
    kept = _read(runtime, admin, builds)
    assert kept["counted_at"] == kept["generated"] and not builds
    with runtime.sessions() as db:
        fresh = summary_figures(db, visible_tickets(admin, "org"), runtime.mapping.policies.calendar, UTC,
                                reader=admin)
    assert _without_generated(kept) == _without_generated(fresh)
    # Past its freshness the kept copy still answers while one job counts the next.
    with runtime.sessions() as db, db.begin():
        db.execute(update(Ticket).values(customer_status="resolved", bucket="resolved"))
    monkeypatch.setattr(summary_cache, "FRESH_SECONDS", -1)
    stale = _read(runtime, admin, builds)
    assert stale["counts"] == kept["counts"]
    assert _read(runtime, admin, builds)["counts"] == kept["counts"]
    assert Queue("maintenance", connection=redis_client).count == 1
    _run_jobs(runtime, redis_client)
    monkeypatch.setattr(summary_cache, "FRESH_SECONDS", 300)
    recounted = _read(runtime, admin, builds)
    assert recounted["counts"]["bucket"] == {"resolved": sum(kept["counts"]["bucket"].values())}
    assert not builds and Queue("maintenance", connection=redis_client).count == 0


def test_a_summary_without_a_worker_to_count_it_is_counted_in_the_request_and_kept(
        runtime: Any, seeded: Any, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(summary_cache, "KEEP_ABOVE", 1)
    admin = _reader(runtime, "admin@example.test")
    builds: list[int] = []
    with caplog.at_level(logging.WARNING, logger=summary_cache.__name__):
        first = _read(runtime, admin, builds)
    assert "no worker takes queue 'maintenance'" in caplog.text
    again = _read(runtime, admin, builds)
    assert len(builds) == 1 and again["counted_at"] == first["counted_at"] == first["generated"]
    assert redis_client.exists(summary_key("org", admin.id, "UTC"))
    assert Queue("maintenance", connection=redis_client).count == 0


def test_with_redis_away_the_summary_is_counted_in_the_request(
        runtime: Any, seeded: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(summary_cache, "KEEP_ABOVE", 1)
    admin = _reader(runtime, "admin@example.test")
    away = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)  # nothing listens there
    builds: list[int] = []
    with caplog.at_level(logging.WARNING, logger=summary_cache.__name__):
        data = _read(runtime, admin, builds, connection=away)
    assert "Redis unavailable" in caplog.text
    assert len(builds) == 1 and "counted_at" not in data and data["counts"]["bucket"]


@pytest.mark.parametrize("email", ["viewer@acme.test", "gina@globex.test", "alice@acme.test"])
def test_no_ones_own_requests_get_a_kept_summary(
        runtime: Any, seeded: Any, redis_client: redis.Redis, worker_up: None, monkeypatch: pytest.MonkeyPatch,
        email: str) -> None:
    monkeypatch.setattr(summary_cache, "KEEP_ABOVE", 0)
    reader = _reader(runtime, email)
    builds: list[int] = []
    for _ in range(2):
        assert "counted_at" not in _read(runtime, reader, builds, scope="mine")
    assert len(builds) == 2
    assert not redis_client.keys("companion:summary:*")
    assert Queue("maintenance", connection=redis_client).count == 0


def test_a_small_table_is_summarised_for_each_request(runtime: Any, seeded: Any, redis_client: redis.Redis,
                                                      worker_up: None) -> None:
    admin = _reader(runtime, "admin@example.test")
    builds: list[int] = []
    for _ in range(2):
        assert "counted_at" not in _read(runtime, admin, builds)
    assert len(builds) == 2 and Queue("maintenance", connection=redis_client).count == 0


def test_the_page_says_the_figures_are_being_counted_then_shows_them_with_their_age(
        app: Any, client: Any, runtime: Any, seeded: Any, redis_client: redis.Redis, worker_up: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the first count the page (and the API) says so and looks again; then it shows the kept
    figures worded in the reader's language, as a summary counted in the request would be."""
    monkeypatch.setattr(summary_cache, "KEEP_ABOVE", 1)
    sign_in(client, "admin@example.test")
    waiting = client.get("/summary?scope=org")
    assert waiting.status_code == 200
    page = waiting.data.decode()
    assert COUNTING_TEXT in page and 'http-equiv="refresh"' in page
    assert "Данные по всем организациям подсчитываются" in client.get(
        "/summary?scope=org", headers={"Accept-Language": "ru"}).data.decode()
    api = client.get("/api/v1/summary?scope=org")
    assert (api.status_code, api.json["counting"], api.json["retry_after_seconds"]) == (202, True, 5)
    _run_jobs(runtime, redis_client)
    page = client.get("/summary?scope=org").data.decode()
    assert "Figures of every organisation, counted" in page and COUNTING_TEXT not in page
    assert "Данные по всем организациям подсчитаны" in client.get(
        "/summary?scope=org", headers={"Accept-Language": "ru"}).data.decode()
    answer = client.get("/api/v1/summary?scope=org")
    assert answer.status_code == 200
    admin = _reader(runtime, "admin@example.test")
    with app.test_request_context(), runtime.sessions() as db:
        built = build_summary(db, visible_tickets(admin, "org"), runtime.mapping, "en", UTC,
                              translations=get_translations(), reader=admin)
    assert _without_generated({k: v for k, v in answer.json.items() if k != "scope"}) == _without_generated(built)
    # A ticket that moves is not in the kept figures until the next count.
    with runtime.sessions() as db, db.begin():
        db.execute(update(Ticket).values(customer_status="resolved", bucket="resolved"))
    assert client.get("/api/v1/summary?scope=org").json["counts"] == built["counts"]


def test_a_count_that_finds_no_such_reader_keeps_nothing_and_frees_the_next_count(
        runtime: Any, seeded: Any, redis_client: redis.Redis) -> None:
    """The lock a queued count holds is released when it ends however it ends, so the next reader asks again."""
    assert request_count(redis_client, 999_999, "org", "UTC")
    assert not request_count(redis_client, 999_999, "org", "UTC")  # one at a time
    job = Queue("maintenance", connection=redis_client).jobs[0]
    _run_jobs(runtime, redis_client)
    job.refresh()
    assert job.return_value()["counted"] is False
    assert not redis_client.keys("companion:summary:*")
    assert request_count(redis_client, 999_999, "org", "UTC")


def test_a_big_organisations_summary_is_counted_by_the_job_and_kept_for_its_viewer(
        app: Any, client: Any, runtime: Any, seeded: Any, redis_client: redis.Redis, worker_up: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An organisation past the bound is summarised like every organisation: counted by a job, kept per reader
    (the same figures as a count in the request), and the page says whose figures were counted."""
    viewer = _reader(runtime, "viewer@acme.test")
    builds: list[int] = []
    assert "counted_at" not in _read(runtime, viewer, builds)  # a small organisation: counted in the request
    assert len(builds) == 1 and Queue("maintenance", connection=redis_client).count == 0
    monkeypatch.setattr(summary_cache, "KEEP_ABOVE", 1)  # Acme's seeded tickets count as a big organisation
    sign_in(client, "viewer@acme.test")
    page = client.get("/summary").data.decode()
    assert "The figures of your organisation are being counted" in page and COUNTING_TEXT not in page
    assert Queue("maintenance", connection=redis_client).count == 1
    _run_jobs(runtime, redis_client)
    kept = _read(runtime, viewer, builds)
    assert len(builds) == 1 and kept["counted_at"] == kept["generated"]
    with runtime.sessions() as db:
        fresh = summary_figures(db, visible_tickets(viewer, "org"), runtime.mapping.policies.calendar, UTC,
                                reader=viewer)
    assert _without_generated(kept) == _without_generated(fresh)
    assert redis_client.exists(summary_key("org", viewer.id, "UTC"))
    page = client.get("/summary").data.decode()
    assert "Figures of your organisation, counted" in page and "Figures of every organisation" not in page
    assert "Данные по вашей организации подсчитаны" in client.get(
        "/summary", headers={"Accept-Language": "ru"}).data.decode()
    # A group's open requests stay few: never kept, whatever the bound.
    lead = _reader(runtime, "lead@acme.test")
    assert "counted_at" not in _read(runtime, lead, builds, scope="group")
