"""The list page's query: scope, filters on every column, sort and page, parsed from the URL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, and_, case, func
from werkzeug.datastructures import MultiDict

from app.services.distinct_values import distinct_by_rank, distinct_in_parts
from app.services.scope import ScopeError, scopes_for, visible_tickets
from app.services.search import matches_text
from mappings import BUCKETS, Mapping
from sync.models import BUCKET_RANK, TICKET_TYPE, Ticket, User
from sync.scope import spans_every_organisation, visible_condition, visible_parts

PER_PAGE = 50
COLUMNS = ("key", "summary", "type", "status", "priority", "reporter", "assignee", "created", "updated",
           "resolved")
DEFAULT_COLUMNS = ("key", "summary", "status", "priority", "updated")
# Filters that travel in the URL; the CSV export and the live-update poll reuse the same set.
FILTER_KEYS = ("scope", "status", "priority", "type", "bucket", "reporter", "assignee", "q", "created_from",
               "created_to", "updated_from", "updated_to", "sort", "dir")
# The reporter and assignee filters offer the names found in the scope, up to this many each.
PEOPLE_CHOICES = 200


class BadFilter(ValueError):
    """A filter value the list cannot apply; the page ignores it, the API would answer 400."""


@dataclass
class ListSpec:
    """What the reader asked the list for."""

    scope: str
    statuses: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)
    reporters: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    q: str = ""
    dates: dict[str, date] = field(default_factory=dict)
    sort: str = "updated"
    descending: bool = True
    page: int = 1

    @property
    def narrowed_by(self) -> int:
        """How many filters besides the search narrow the list (shown on the folded filters' button)."""
        chosen = (self.statuses, self.priorities, self.types, self.buckets, self.reporters, self.assignees)
        return sum(1 for values in chosen if values) + len(self.dates)

    def query_args(self, **changes: Any) -> dict[str, Any]:
        """The URL arguments that reproduce this list (with `changes`), for links and forms."""
        args: dict[str, Any] = {"scope": self.scope, "status": self.statuses, "priority": self.priorities,
                                "type": self.types, "bucket": self.buckets, "reporter": self.reporters,
                                "assignee": self.assignees, "q": self.q or None,
                                "sort": self.sort, "dir": "desc" if self.descending else "asc"}
        args.update({name: value.isoformat() for name, value in self.dates.items()})
        args.update(changes)
        return {k: v for k, v in args.items() if v not in (None, "", [])}


def _many(args: MultiDict[str, str], name: str, split: bool = True) -> list[str]:
    # Keys may come comma-joined (links, the API); names may hold commas, so they come one per argument.
    values: list[str] = []
    for raw in args.getlist(name):
        parts = raw.split(",") if split else [raw]
        values.extend(part.strip()[:255] for part in parts if part.strip())
    return values[:50]


EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(9000, 12, 31)


def parse_spec(user: User, args: MultiDict[str, str]) -> ListSpec:
    """Read the list arguments; the default scope is the widest the user has below 'group'."""
    scopes = scopes_for(user)
    scope = args.get("scope") or ("org" if "org" in scopes else "mine")
    if scope not in scopes:
        raise ScopeError(f"scope {scope!r} is not available")
    spec = ListSpec(scope=scope, statuses=_many(args, "status"), priorities=_many(args, "priority"),
                    types=_many(args, "type"), buckets=[b for b in _many(args, "bucket") if b in BUCKETS],
                    reporters=_many(args, "reporter", split=False), assignees=_many(args, "assignee", split=False),
                    q=(args.get("q") or "").strip()[:200])
    for name in ("created_from", "created_to", "updated_from", "updated_to"):
        raw = (args.get(name) or "").strip()
        if raw:
            try:
                spec.dates[name] = date.fromisoformat(raw)
            except ValueError:
                raise BadFilter(f"{name} must be a date YYYY-MM-DD, got {raw!r}") from None
            # A day's bounds move by the reader's zone (and `_to` by a day): stay clear of year 1 and 9999.
            if not EARLIEST_DAY <= spec.dates[name] <= LATEST_DAY:
                raise BadFilter(f"{name} must be between {EARLIEST_DAY} and {LATEST_DAY}, got {raw!r}")
    sort = args.get("sort") or "updated"
    spec.sort = sort if sort in COLUMNS else "updated"
    spec.descending = args.get("dir", "desc" if spec.sort in ("updated", "created", "resolved") else "asc") != "asc"
    try:
        spec.page = max(1, min(int(args.get("page") or 1), 1_000_000))
    except ValueError:
        raise BadFilter("page must be a number") from None
    return spec


def _day_start(day: date, zone: tzinfo) -> datetime:
    # Filter dates are days of the reader's calendar, so their bounds move with the time zone.
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def type_of() -> Any:
    """The type a ticket shows: its request type, else its issue type."""
    return TICKET_TYPE


def conditions(spec: ListSpec, zone: tzinfo) -> list[Any]:
    """The filters of `spec` as WHERE conditions (the scope is not among them)."""
    where: list[Any] = []
    if spec.statuses:
        where.append(Ticket.customer_status.in_(spec.statuses))
    if spec.priorities:
        where.append(Ticket.customer_priority.in_(spec.priorities))
    if spec.types:
        where.append(type_of().in_(spec.types))
    if spec.buckets:
        where.append(Ticket.bucket.in_(spec.buckets))
    if spec.reporters:
        where.append(Ticket.reporter_name.in_(spec.reporters))
    if spec.assignees:
        where.append(Ticket.assignee_name.in_(spec.assignees))
    if spec.q:
        where.append(matches_text(spec.q))
    bounds = {"created": Ticket.created_at, "updated": Ticket.jira_updated_at}
    for name, day in spec.dates.items():
        column = bounds[name.split("_")[0]]
        if name.endswith("_from"):
            where.append(column >= _day_start(day, zone))
        else:
            where.append(column < _day_start(day + timedelta(days=1), zone))
    return where


def filtered(user: User, spec: ListSpec, zone: tzinfo) -> Select[tuple[Ticket]]:
    """The scope helper's query narrowed by the filters (no order, no page)."""
    return visible_tickets(user, spec.scope).where(*conditions(spec, zone))


def choices_query(user: User, scope: str, column: Any, many: bool, limit: int | None = None) -> Select[Any]:
    """The distinct non-null values of `column` (type, reporter or assignee) among the scope's tickets, in
    order (the first `limit`), for a filter's choices.

    Across every organisation a loose scan of the column's rank-led index per bucket rank (one probe per value
    and rank); in a big organisation (`many`: `app.services.scope_size`) a loose scan of its organisation-led
    index (0020), per part of the scope; an organisation's few tickets are simply read.
    """
    if spans_every_organisation(user, scope):
        return distinct_by_rank(column, [visible_condition(user, scope)], limit)
    if many:
        return distinct_in_parts(column, visible_parts(user, scope), limit)
    return (visible_tickets(user, scope).order_by(None).with_only_columns(column).where(column.is_not(None))
            .distinct().order_by(column).limit(limit))


def people_query(user: User, spec: ListSpec, column: Any, many: bool | None = None) -> Select[Any]:
    """The names in `column` (reporter or assignee) found in the scope, for a filter's choices (`choices_query`;
    `many` defaults to whether the scope spans every organisation)."""
    wide = spans_every_organisation(user, spec.scope) if many is None else many
    return choices_query(user, spec.scope, column, wide, PEOPLE_CHOICES)


def _rank(column: Any, keys: list[str]) -> Any:
    return case({key: index for index, key in enumerate(keys)}, value=column, else_=len(keys))


def ordered(query: Select[tuple[Ticket]], spec: ListSpec, mapping: Mapping) -> Select[tuple[Ticket]]:
    """Grouped Open / Resolved / Closed, then the chosen column, then a stable tie-breaker."""
    columns: dict[str, list[Any]] = {
        "key": [Ticket.project_key, func.length(Ticket.key), Ticket.key],
        "summary": [Ticket.summary],
        "type": [type_of()],
        "status": [_rank(Ticket.customer_status, [s.key for s in mapping.statuses])],
        "priority": [_rank(Ticket.customer_priority, [p.key for p in sorted(mapping.priorities,
                                                                            key=lambda p: p.rank)])],
        "reporter": [Ticket.reporter_name], "assignee": [Ticket.assignee_name],
        "created": [Ticket.created_at], "updated": [Ticket.jira_updated_at], "resolved": [Ticket.resolved_at],
    }
    keys = [c.desc() if spec.descending else c.asc() for c in columns[spec.sort]]
    tie = Ticket.id.desc() if spec.descending else Ticket.id.asc()
    return query.order_by(BUCKET_RANK, *keys, tie)


def stats_query(user: User, spec: ListSpec, zone: tzinfo) -> Select[Any]:
    """Per type of the whole scope: count, max updated, max id and max synced of the filtered tickets.

    One statement gives the type filter's choices, the total and the live-list fingerprint.
    FILTER (WHERE ...) is PostgreSQL and SQLite >= 3.30 syntax; the scope still comes from the one helper.
    """
    where = conditions(spec, zone)
    match = and_(*where) if where else None

    def only_filtered(aggregate: Any) -> Any:
        return aggregate.filter(match) if match is not None else aggregate

    kind = type_of()
    return (visible_tickets(user, spec.scope).order_by(None)
            .with_only_columns(kind, only_filtered(func.count()), only_filtered(func.max(Ticket.jira_updated_at)),
                               only_filtered(func.max(Ticket.id)), only_filtered(func.max(Ticket.last_synced_at)))
            .group_by(kind))
