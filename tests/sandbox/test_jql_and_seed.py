"""JQL subset and seeds: what the sync's reconciliation relies on."""

from __future__ import annotations

import time

import pytest

from sandbox import catalog
from sandbox.jql import JqlError, parse, parse_date
from sandbox.seed import DAY_MS, apply_seed
from sandbox.state import SandboxState


@pytest.fixture(scope="module")
def demo() -> SandboxState:
    state = SandboxState()
    apply_seed(state, "demo", "admin@sandbox.local")
    return state


def run(state: SandboxState, jql: str) -> list[str]:
    q = parse(jql)
    return [r.key for r in state.sorted_requests(q.order) if q.where is None or q.where(r)]


def test_demo_seed_is_rich_and_deterministic(demo):
    other = SandboxState()
    apply_seed(other, "demo", "admin@sandbox.local")
    snap = lambda s: [(r.key, r.status_id, r.priority_id, r.summary, len(r.comments)) for r in s.requests.values()]  # noqa: E731
    assert snap(demo) == snap(other)
    reqs = list(demo.requests.values())
    assert 250 <= len(reqs) <= 350 and len(demo.orgs) == 3
    assert sum(a.kind == "customer" for a in demo.accounts.values()) == 20
    assert {r.status_id for r in reqs} == set(catalog.STATUS_BY_ID)
    assert {r.priority_id for r in reqs} == set(catalog.PRIORITY_BY_ID)
    comments = [c for r in reqs for c in r.comments]
    assert any(c.public for c in comments) and any(not c.public for c in comments)
    assert any(any("а" <= ch <= "я" for ch in r.summary.lower()) for r in reqs)
    assert any(r.summary.isascii() for r in reqs)
    now = max(r.updated_ms for r in reqs)
    assert min(r.created_ms for r in reqs) >= now - 91 * DAY_MS
    for r in reqs:
        assert [t for _, t in r.history] == sorted(t for _, t in r.history)
        assert r.history[-1][0] == r.status_id
        done = catalog.STATUS_BY_ID[r.status_id].category is catalog.CATEGORY_DONE
        assert (r.resolution_id is not None) == done


def test_bench_seed_makes_n_consistent_requests():
    """`bench:N`, the benchmarks' big site: N requests with unique keys and ids, each history ending in its status,
    a resolution exactly when done. How fast it seeds 100,000 is the benchmarks' to report (they seed that many),
    not a timed test's to assert on a shared machine."""
    state = SandboxState()
    apply_seed(state, "bench:2000", "admin@sandbox.local")
    reqs = list(state.requests.values())
    assert len(reqs) == 2000 and len(state.by_id) == 2000 and len({r.key for r in reqs}) == 2000
    assert {r.status_id for r in reqs} <= set(catalog.STATUS_BY_ID) and len({r.status_id for r in reqs}) > 5
    for r in reqs:
        assert r.history[-1][0] == r.status_id and [t for _, t in r.history] == sorted(t for _, t in r.history)
        done = catalog.STATUS_BY_ID[r.status_id].category is catalog.CATEGORY_DONE
        assert (r.resolution_id is not None) == done
    again = SandboxState()
    apply_seed(again, "bench:2000", "admin@sandbox.local")
    assert [(r.key, r.status_id) for r in again.requests.values()] == [(r.key, r.status_id) for r in reqs]


def test_jql_clauses(demo):
    sup = run(demo, "project = SUP")
    assert sup and all(k.startswith("SUP-") for k in sup)
    assert set(run(demo, "project in (SUP, HELP)")) == set(demo.requests)
    assert run(demo, "key = sup-3") == ["SUP-3"]
    assert run(demo, "issuekey in (SUP-1, HELP-2) ORDER BY key DESC") == ["HELP-2", "SUP-1"]
    assert all(demo.requests[k].status_id == "3" for k in run(demo, 'status = "In Progress"'))
    assert set(run(demo, "statusCategory = Done")) == {
        r.key for r in demo.requests.values() if r.status_id in ("5", "6", "10010")}
    assert set(run(demo, "resolution = Unresolved")) == {r.key for r in demo.requests.values() if not r.resolution_id}
    assert set(run(demo, "priority in (Highest, 2) AND NOT project = HELP")) == {
        r.key for r in demo.requests.values() if r.priority_id in ("1", "2") and r.desk_id == "1"}


def test_jql_updated_bounds_and_order(demo):
    reqs = sorted(demo.requests.values(), key=lambda r: r.updated_ms)
    pivot = reqs[len(reqs) // 2].updated_ms
    minute = time.strftime("%Y-%m-%d %H:%M", time.gmtime(pivot / 1000))
    keys = run(demo, f'project in (SUP,HELP) AND updated >= "{minute}" ORDER BY updated ASC, key')
    floor = pivot - pivot % 60_000
    assert set(keys) == {r.key for r in reqs if r.updated_ms >= floor}
    assert [demo.requests[k].updated_ms for k in keys] == sorted(demo.requests[k].updated_ms for k in keys)
    assert set(run(demo, f"updated >= {pivot}")) == {r.key for r in reqs if r.updated_ms >= pivot}
    assert run(demo, "updated >= '2000/01/01' ORDER BY updated DESC")[0] == reqs[-1].key
    assert parse_date("-15m", 1_000_000_000) == 1_000_000_000 - 900_000


@pytest.mark.parametrize("jql", ["projct = SUP", "project = NOPE", "updated >= yesterday", "project = SUP AND",
                                 "ORDER BY colour", "status = Nonsense", "key ~ SUP-1"])
def test_jql_errors(jql):
    with pytest.raises(JqlError):
        parse(jql)


def test_unbounded_is_detected():
    assert parse("ORDER BY key DESC").where is None
    assert parse("").where is None
