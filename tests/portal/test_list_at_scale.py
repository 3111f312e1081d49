"""The list's index-ordered reads give what the plain statements give, on SQLite and PostgreSQL.

`app.portal.list_rows` merges branches (a participant's two scope parts; an administrator's or a big
organisation's bucket ranks and sort values) and `app.portal.list_stats` counts and fingerprints a scope that
spans every organisation, or a big organisation's, through indexes; here each is compared with the one plain
statement it replaces, row for row and in order, over a store with every awkward case: deleted tickets, a
ticket without an organisation, a bucket and a priority the mapping does not know, equal update times, more
than one page. An organisation counts as big here when `MANY_TICKETS` is set below its few dozen tickets.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from app.portal.list_query import COLUMNS, PER_PAGE, conditions, filtered, ordered, parse_spec, people_query, type_of
from app.portal.list_rows import page_query
from app.portal.list_stats import list_stats, window_of
from app.services import scope_size
from app.services.bounded_count import COUNT_BOUND, bounded_count
from app.services.distinct_values import distinct_in_parts, distinct_values
from app.services.newest_first import newest_first_page
from mappings import load_default
from sync.db import make_engine
from sync.models import Organization, Ticket, TicketParticipant, User
from sync.scope import spans_every_organisation, visible_condition, visible_parts

MAPPING = load_default()
NOW = datetime(2026, 5, 1, tzinfo=UTC)
STATUSES = [("open", "open"), ("in_progress", "open"), ("awaiting_customer", "open"), ("resolved", "resolved"),
            ("closed", "closed"), ("canceled", "closed"), ("legacy", "archived")]  # the last: unknown to the mapping
PRIORITIES = ["high", "medium", "low", "urgent"]  # "urgent": a value the mapping does not have
ZONE = UTC
QUERIES = ["", "sort=updated&dir=asc", "sort=priority&dir=asc", "sort=priority&dir=desc", "sort=status",
           "sort=status&dir=desc", "sort=key", "status=in_progress", "status=closed&sort=priority",
           "priority=urgent&sort=updated&dir=asc", "q=printer", "page=2", "page=3&sort=priority&dir=desc",
           "page=2&sort=updated&dir=asc", "bucket=resolved&sort=status", "sort=created&dir=desc",
           "sort=resolved&dir=asc", "sort=resolved&dir=desc", "sort=key&dir=desc", "sort=summary&page=2",
           "sort=type&dir=desc", "sort=reporter", "sort=assignee&dir=desc&page=2", "status=in_progress&sort=created"]


@pytest.fixture
def store(any_database_url: str) -> str:
    """Three organisations, 190 tickets, a viewer who takes part in other organisations' requests, an admin."""
    rng = random.Random(14)
    engine = make_engine(any_database_url)
    with Session(engine) as db, db.begin():
        orgs = [Organization(slug=f"o{i}", name=f"O{i}") for i in range(3)]
        db.add_all(orgs)
        db.flush()
        db.add_all([User(email="vera@o0.test", role="org_viewer", organization_id=orgs[0].id,
                         jira_account_id="acc-vera"), User(email="root@x.test", role="admin"),
                     User(email="olga@o1.test", role="org_viewer", organization_id=orgs[1].id)])
        for n in range(1, 191):
            status, bucket = rng.choice(STATUSES)
            org = None if n % 47 == 0 else orgs[n % 3].id
            # Whole minutes over a short span: many tickets share an update time, so the id must break ties.
            updated = NOW - timedelta(minutes=rng.randint(0, 40))
            # Vera takes part in tickets of every organisation, and in one without an organisation (94).
            participants = [TicketParticipant(account_id="acc-vera")] if n % 7 == 0 or n == 94 else []
            db.add(Ticket(jira_id=str(n), key=f"SUP-{n}", project_key="SUP", organization_id=org,
                          summary=f"About the {rng.choice(['printer', 'VPN'])}", reporter_email=f"r{n % 5}@x.test",
                          reporter_name=rng.choice(["Ann", "Bob", None]), assignee_name=rng.choice(["Agent", None]),
                          request_type_name=rng.choice(["Incident", None]), issue_type_name="Task",
                          customer_status=status, customer_priority=rng.choice(PRIORITIES), bucket=bucket,
                          created_at=updated - timedelta(days=1), jira_updated_at=updated, deleted=n % 13 == 0,
                          participants=participants))
    engine.dispose()
    return any_database_url


def _user(db: Session, email: str) -> User:
    user = db.scalars(select(User).where(User.email == email)).one()
    user.participations  # noqa: B018 - loaded as a signed-in reader's are
    return user


def _plain_page(db: Session, user: User, query: str) -> list[str]:
    spec = parse_spec(user, MultiDict(_args(query)))
    statement = ordered(filtered(user, spec, ZONE), spec, MAPPING).limit(PER_PAGE).offset((spec.page - 1) * PER_PAGE)
    return [t.key for t in db.scalars(statement)]


def _args(query: str) -> list[tuple[str, str]]:
    return [tuple(pair.split("=", 1)) for pair in query.split("&") if pair]  # type: ignore[misc]


@pytest.fixture
def big_orgs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every organisation of the store counts as big: its list is read through indexes."""
    monkeypatch.setattr(scope_size, "MANY_TICKETS", 5)


@pytest.mark.parametrize("email", ["vera@o0.test", "root@x.test", "olga@o1.test"])
@pytest.mark.parametrize("query", QUERIES)
def test_the_merged_page_is_the_plain_page(store: str, big_orgs: None, email: str, query: str) -> None:
    engine = make_engine(store)
    with Session(engine) as db:
        user = _user(db, email)
        spec = parse_spec(user, MultiDict(_args(query)))
        merged = [t.key for t in db.scalars(page_query(db, user, spec, ZONE, MAPPING))]
        assert merged == _plain_page(db, user, query)
    engine.dispose()


def test_the_participant_reads_two_parts_and_the_admin_one_per_rank_and_value(store: str) -> None:
    """The cases above are the merged ones (not a single statement that would pass trivially)."""
    engine = make_engine(store)
    with Session(engine) as db:
        vera, root = _user(db, "vera@o0.test"), _user(db, "root@x.test")
        as_sql = {name: str(page_query(db, user, parse_spec(user, MultiDict(_args(q))), ZONE, MAPPING)
                            .compile(engine)) for name, user, q in (("vera", vera, ""), ("root", root, ""),
                                                                      ("root_priority", root, "sort=priority"))}
    engine.dispose()
    assert as_sql["vera"].count("UNION ALL") == 1
    assert "UNION ALL" not in as_sql["root"]  # newest first is the rank index's own order
    # high, medium, low and urgent are present; each with four bucket ranks.
    assert as_sql["root_priority"].count("UNION ALL") == 4 * 4 - 1


@pytest.mark.parametrize("email", ["root@x.test", "vera@o0.test", "olga@o1.test"])
@pytest.mark.parametrize("query", ["", "status=in_progress", "q=printer", "type=Task", "bucket=archived", "page=2"])
def test_whole_table_counts_and_choices_are_the_plain_ones(store: str, big_orgs: None, email: str,
                                                           query: str) -> None:
    engine = make_engine(store)
    with Session(engine) as db:
        reader = _user(db, email)
        spec = parse_spec(reader, MultiDict(_args(query)))
        assert scope_size.holds_many(db, reader, spec.scope)
        total, types, version, capped = list_stats(db, reader, spec, ZONE, MAPPING)
        assert not capped
        plain = filtered(reader, spec, ZONE).order_by(None).subquery()
        assert total == db.scalar(select(func.count()).select_from(plain))
        every = filtered(reader, parse_spec(reader, MultiDict()), ZONE).order_by(None)
        assert types == sorted({t for t in db.scalars(every.with_only_columns(type_of())) if t})
        for column in (Ticket.reporter_name, Ticket.assignee_name):
            names = list(db.scalars(people_query(reader, spec, column, many=True)))
            assert names == sorted({n for n in db.scalars(every.with_only_columns(column)) if n is not None})
        # The page's own rows give the same fingerprint as the live poll's read of them.
        rows = list(db.scalars(page_query(db, reader, spec, ZONE, MAPPING)))
        assert list_stats(db, reader, spec, ZONE, MAPPING, window_of(rows)) == (total, types, version, capped)
    engine.dispose()


def _version(db: Session, user: User, query: str) -> str:
    return list_stats(db, user, parse_spec(user, MultiDict(_args(query))), ZONE, MAPPING)[2]


def test_the_whole_table_fingerprint_moves_with_what_the_reader_sees(store: str) -> None:
    engine = make_engine(store)

    def version() -> str:
        with Session(engine) as db:
            return _version(db, _user(db, "root@x.test"), "")

    def change(statement: Any) -> None:
        with Session(engine) as db, db.begin():
            db.execute(statement)

    with Session(engine) as db:
        root = _user(db, "root@x.test")
        on_page = db.scalars(page_query(db, root, parse_spec(root, MultiDict()), ZONE, MAPPING)).first()
        assert on_page is not None
        key = on_page.key
        behind = _plain_page(db, root, "page=3")[0]
    first = version()
    assert version() == first  # nothing changed: the same version
    # A ticket on the page changes: its update time moves.
    change(update(Ticket).where(Ticket.key == key).values(jira_updated_at=NOW + timedelta(hours=1)))
    second = version()
    assert second != first
    # A ticket two pages behind leaves (deleted in JSM): the page is the same, the count moves.
    change(update(Ticket).where(Ticket.key == behind).values(deleted=True))
    assert version() != second
    engine.dispose()


def test_distinct_values_is_select_distinct(store: str) -> None:
    engine = make_engine(store)
    with Session(engine) as db:
        live = [Ticket.deleted.is_(False)]
        for column in (Ticket.reporter_name, Ticket.customer_priority, Ticket.bucket):
            plain = list(db.scalars(select(column).where(*live, column.is_not(None)).distinct().order_by(column)))
            assert list(db.scalars(distinct_values(column, live))) == plain
            assert list(db.scalars(distinct_values(column, live, 2))) == plain[:2]
        assert list(db.scalars(distinct_values(Ticket.reporter_name, [Ticket.id < 0]))) == []
    engine.dispose()


def test_distinct_in_parts_is_select_distinct_over_the_union(store: str) -> None:
    """Vera's organisation scope is two parts (her organisation's tickets; those elsewhere she takes part in)."""
    engine = make_engine(store)
    with Session(engine) as db:
        vera = _user(db, "vera@o0.test")
        parts = visible_parts(vera, "org")
        assert len(parts) == 2
        for column in (Ticket.reporter_name, Ticket.assignee_name, type_of(), Ticket.summary):
            plain = list(db.scalars(select(column).where(visible_condition(vera, "org"), column.is_not(None))
                                    .distinct().order_by(column)))
            assert list(db.scalars(distinct_in_parts(column, parts))) == plain
            assert list(db.scalars(distinct_in_parts(column, parts, 1))) == plain[:1]
            assert list(db.scalars(distinct_in_parts(column, parts[:1]))) == sorted(set(db.scalars(
                select(column).where(parts[0], column.is_not(None)))))
    engine.dispose()


def test_only_a_big_organisation_is_read_through_indexes(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the bound an organisation's list is the plain statements; past it, the merged reads."""
    engine = make_engine(store)
    with Session(engine) as db:
        olga = _user(db, "olga@o1.test")
        spec = parse_spec(olga, MultiDict(_args("sort=priority")))
        assert not scope_size.holds_many(db, olga, "org") and scope_size.holds_many(db, _user(db, "root@x.test"), "org")
        assert "UNION ALL" not in str(page_query(db, olga, spec, ZONE, MAPPING).compile(engine))
        assert "RECURSIVE" not in str(people_query(olga, spec, Ticket.reporter_name, many=False).compile(engine))
    monkeypatch.setattr(scope_size, "MANY_TICKETS", 5)
    with Session(engine) as db:  # a new session: the answer is kept for the session's length only
        olga = _user(db, "olga@o1.test")
        assert scope_size.holds_many(db, olga, "org") and not scope_size.holds_many(db, olga, "mine")
        # high, medium, low and urgent are present; each with four bucket ranks.
        assert str(page_query(db, olga, spec, ZONE, MAPPING).compile(engine)).count("UNION ALL") == 4 * 4 - 1
        assert "RECURSIVE" in str(people_query(olga, spec, Ticket.reporter_name, many=True).compile(engine))
    monkeypatch.setattr(scope_size, "MANY_TICKETS", COUNT_BOUND)
    engine.dispose()


def _plan(db: Session, statement: Any) -> str:
    compiled = statement.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    if db.get_bind().dialect.name == "postgresql":
        # A handful of rows: forbid the scans a small table would rather use, so the plan shows whether the
        # index matches the query at all (the same expression, the same partial predicate).
        db.execute(text("SET LOCAL enable_seqscan = off"))
        db.execute(text("SET LOCAL enable_sort = off"))
        db.execute(text("SET LOCAL enable_incremental_sort = off"))
        db.execute(text("SET LOCAL enable_bitmapscan = off"))
        return "\n".join(db.scalars(text(f"EXPLAIN {compiled}")))
    return "\n".join(str(row) for row in db.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))


SORT_INDEXES = {"created": "ix_tickets_live_rank_created", "resolved": "ix_tickets_live_rank_resolved",
                "key": "ix_tickets_live_rank_key", "summary": "ix_tickets_live_rank_summary",
                "type": "ix_tickets_live_rank_type", "reporter": "ix_tickets_live_rank_reporter",
                "assignee": "ix_tickets_live_rank_assignee"}


def test_the_whole_table_queries_use_the_live_indexes(store: str) -> None:
    engine = make_engine(store)
    with Session(engine) as db:
        root = _user(db, "root@x.test")
        newest = page_query(db, root, parse_spec(root, MultiDict()), ZONE, MAPPING)
        assert "ix_tickets_live_rank_updated" in _plan(db, newest.with_only_columns(Ticket.id))
        db.rollback()
        by_priority = page_query(db, root, parse_spec(root, MultiDict(_args("sort=priority"))), ZONE, MAPPING)
        assert "ix_tickets_live_priority" in _plan(db, by_priority.with_only_columns(Ticket.id))
        db.rollback()
        vera = _user(db, "vera@o0.test")
        reaching = page_query(db, vera, parse_spec(vera, MultiDict()), ZONE, MAPPING)
        assert "ix_tickets_live_org_rank_updated" in _plan(db, reaching.with_only_columns(Ticket.id))
        db.rollback()
        names = people_query(root, parse_spec(root, MultiDict()), Ticket.reporter_name)
        # One loose scan per bucket rank, each a range of a rank-led index (the tiny table may pick any of them).
        plan = _plan(db, names)
        assert plan.count("ix_tickets_live_rank_") >= 4 and "Seq Scan" not in plan
        db.rollback()
        if db.get_bind().dialect.name == "postgresql":
            # A big organisation's choices: a loose scan of each organisation-led index (0020). A table this
            # small takes any index led by the organisation, so the others are dropped (in the transaction
            # the plan is read in, rolled back after): the plan shows the index matches the query.
            olga = _user(db, "olga@o1.test")
            for column, index in ((Ticket.reporter_name, "ix_tickets_live_org_reporter"),
                                  (Ticket.assignee_name, "ix_tickets_live_org_assignee"),
                                  (type_of(), "ix_tickets_live_org_type")):
                others = [name for name, definition in db.execute(text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tickets'"))
                    if "(organization_id" in definition and name != index]
                db.execute(text(f"DROP INDEX {', '.join(others)}"))
                plan = _plan(db, people_query(olga, parse_spec(olga, MultiDict()), column, many=True))
                assert index in plan and "Seq Scan" not in plan, (index, plan)
                db.rollback()
        if db.get_bind().dialect.name == "postgresql":
            # Search's trigram indexes and the statistics that tell a rare word from a common one (0016); a
            # table this small never reads a GIN index, so the 1M benchmark shows their use.
            indexes = set(db.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'tickets'")))
            assert {"ix_tickets_live_summary_trgm", "ix_tickets_live_key_trgm"} <= indexes
            assert db.scalar(text("SELECT count(*) FROM pg_statistic_ext WHERE stxname = 'st_tickets_folded_text'"))
        # SQLite, without statistics, picks any rank-led index for a range of one rank: only PostgreSQL's
        # plan of the per-rank branches says which.
        ways = ("asc", "desc") if db.get_bind().dialect.name == "postgresql" else ("asc",)
        for sort, index in SORT_INDEXES.items():
            for way in ways:
                statement = page_query(db, root, parse_spec(root, MultiDict(_args(f"sort={sort}&dir={way}"))), ZONE,
                                       MAPPING)
                plan = _plan(db, statement.with_only_columns(Ticket.id))
                assert index in plan and "Seq Scan" not in plan, (sort, way, plan)
                db.rollback()
    engine.dispose()


# Any list a reader can ask for: every sort both ways, filters that leave buckets empty, search, later pages.
LIST_ARGS = st.fixed_dictionaries({
    "sort": st.sampled_from(COLUMNS), "dir": st.sampled_from(["asc", "desc"]),
    "status": st.lists(st.sampled_from([s for s, _ in STATUSES]), max_size=2),
    "priority": st.lists(st.sampled_from(PRIORITIES), max_size=2),
    "bucket": st.lists(st.sampled_from(["open", "resolved", "closed", "archived"]), max_size=1),
    "reporter": st.lists(st.sampled_from(["Ann", "Bob"]), max_size=1),
    "q": st.sampled_from(["", "printer", "vpn", "sup-1", "%"]), "page": st.integers(1, 4)})
READERS = ["root@x.test", "vera@o0.test", "olga@o1.test"]


def _list_args(drawn: dict[str, Any]) -> MultiDict[str, str]:
    args: MultiDict[str, str] = MultiDict()
    for name, value in drawn.items():
        for item in value if isinstance(value, list) else [value]:
            if item != "":
                args.add(name, str(item))
    return args


def _may_see(db: Session, email: str) -> set[str]:
    """The keys `email` may see in the organisation scope, by the rule written out again without sync.scope:
    an administrator every live ticket; an org viewer their organisation's, and those JSM lists them on."""
    user = _user(db, email)
    tickets = db.scalars(select(Ticket).where(Ticket.deleted.is_(False))).all()
    if user.role == "admin":
        return {t.key for t in tickets}
    mine = set(db.scalars(select(TicketParticipant.ticket_id).where(
        TicketParticipant.account_id == (user.jira_account_id or "-"))))
    return {t.key for t in tickets if t.organization_id == user.organization_id or t.id in mine}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=LIST_ARGS, email=st.sampled_from(READERS), big=st.booleans())
def test_any_fast_page_is_the_plain_page_and_stays_in_the_readers_scope(store: str, drawn: dict[str, Any],
                                                                         email: str, big: bool,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The list's page (merged or not), the API's newest-first page, the bounded count and the filters'
    choices give what the plain statements give, and nothing outside the reader's scope, whatever the sort,
    filters and page, and whether the reader's organisation is read as a big one (`big`) or not."""
    monkeypatch.setattr(scope_size, "MANY_TICKETS", 5 if big else COUNT_BOUND)
    engine = make_engine(store)
    with Session(engine) as db:
        user = _user(db, email)
        spec = parse_spec(user, _list_args(drawn))
        assert scope_size.holds_many(db, user, spec.scope) == (big or user.role == "admin")
        fast = [t.key for t in db.scalars(page_query(db, user, spec, ZONE, MAPPING))]
        plain_statement = ordered(filtered(user, spec, ZONE), spec, MAPPING)
        plain = [t.key for t in db.scalars(plain_statement.limit(PER_PAGE).offset((spec.page - 1) * PER_PAGE))]
        assert fast == plain
        allowed = _may_see(db, email)
        assert set(fast) <= allowed
        # The API's order: newest activity first, the same filters.
        where = [visible_condition(user, spec.scope), *conditions(spec, ZONE)]
        every = spans_every_organisation(user, spec.scope)
        api = [t.key for t in db.scalars(newest_first_page(where, 7, (spec.page - 1) * 7, every))]
        api_plain = [t.key for t in db.scalars(select(Ticket).where(*where)
                                               .order_by(Ticket.jira_updated_at.desc(), Ticket.id.desc())
                                               .limit(7).offset((spec.page - 1) * 7))]
        assert api == api_plain and set(api) <= allowed
        exact = int(db.scalar(select(func.count()).select_from(plain_statement.order_by(None).subquery())) or 0)
        for bound in (1, 10, exact, exact + 1, 500):
            assert bounded_count(db, where, bound) == (min(exact, bound), exact <= bound)
        total, types, version, capped = list_stats(db, user, spec, ZONE, MAPPING)
        assert (total, capped) == (exact, False)  # far below the bound: exact as before
        # The list page reads the rows first and fingerprints them: the same answer as the live poll's.
        rows = list(db.scalars(page_query(db, user, spec, ZONE, MAPPING)))
        assert list_stats(db, user, spec, ZONE, MAPPING, window_of(rows)).version == version
        every = filtered(user, parse_spec(user, MultiDict()), ZONE).order_by(None)
        assert types == sorted({t for t in db.scalars(every.with_only_columns(type_of())) if t})
        many = scope_size.holds_many(db, user, spec.scope)
        for column in (Ticket.reporter_name, Ticket.assignee_name):
            names = list(db.scalars(people_query(user, spec, column, many)))
            assert names == sorted({n for n in db.scalars(every.with_only_columns(column)) if n is not None})
            assert set(names) <= {n for n in db.scalars(select(column).where(Ticket.key.in_(allowed)))}
    engine.dispose()


def test_the_whole_table_total_stops_at_its_bound(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the bound the total is the bound and says so; the fingerprint still moves with the page."""
    monkeypatch.setattr("app.portal.list_stats.count_bound", lambda spec: 20)
    engine = make_engine(store)
    with Session(engine) as db:
        root = _user(db, "root@x.test")
        spec = parse_spec(root, MultiDict())
        total, _, version, capped = list_stats(db, root, spec, ZONE, MAPPING)
        assert (total, capped) == (20, True)
        narrow = parse_spec(root, MultiDict(_args("q=sup-18")))
        exact = db.scalar(select(func.count()).select_from(filtered(root, narrow, ZONE).order_by(None).subquery()))
        assert list_stats(db, root, narrow, ZONE, MAPPING)[::3] == (exact, False)
        first = db.scalars(page_query(db, root, spec, ZONE, MAPPING)).first()
        assert first is not None
        key = first.key
    with Session(engine) as db, db.begin():
        db.execute(update(Ticket).where(Ticket.key == key).values(jira_updated_at=NOW + timedelta(hours=2)))
    with Session(engine) as db:
        root = _user(db, "root@x.test")
        assert list_stats(db, root, parse_spec(root, MultiDict()), ZONE, MAPPING).version != version
    engine.dispose()
