"""The JQL subset our sync needs: project/key/status/priority/updated/created clauses, AND/OR/NOT, ORDER BY."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sandbox import catalog
from sandbox.records import Request
from sandbox.state import SORTABLE_FIELDS

Predicate = Callable[[Request], bool]
_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|(?P<op>!=|>=|<=|!~|[=<>~(),])'
                    r'|(?P<word>[^\s=<>!~(),"\']+))')
_REL = re.compile(r"^([-+]?)(\d+)([wdhm])$")
_UNIT_MS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000}
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")
ALIASES = {"issuekey": "key", "issue": "key", "statuscategory": "statuscategory", "resolutiondate": "resolved"}
FIELDS = {"project", "key", "id", "updated", "created", "resolved", "status", "priority", "statuscategory",
          "resolution", "reporter", "summary", "text", "type", "issuetype"}


class JqlError(ValueError):
    """The query is not valid (answered 400 like Jira)."""


@dataclass(slots=True)
class Query:
    """A parsed query: `where` is None when the query has no restriction (unbounded)."""

    where: Predicate | None
    order: tuple[tuple[str, bool], ...]


def parse_date(text: str, now_ms: int | None = None) -> int:
    """JQL date value to epoch ms: `yyyy-MM-dd HH:mm`, `yyyy/MM/dd`, epoch ms, or relative `-15m`."""
    text = text.strip()
    m = _REL.match(text)
    if m:
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        delta = int(m.group(2)) * _UNIT_MS[m.group(3)]
        return now - delta if m.group(1) == "-" else now + delta
    if text.isdigit():
        return int(text)
    for fmt in _DATE_FORMATS:
        try:
            # The sandbox's users have the UTC time zone, so JQL dates are UTC.
            return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp() * 1000)
        except ValueError:
            continue
    raise JqlError(f"Date value '{text}' for field is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
                   f"'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.")


def _tokens(jql: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(jql):
        m = _TOKEN.match(jql, pos)
        if not m or m.end() == pos:
            if jql[pos:].strip() == "":
                break
            raise JqlError(f"Error in the JQL Query: unexpected character at position {pos}.")
        pos = m.end()
        if m.group("str") is not None:
            out.append(("value", m.group("str")[1:-1].replace('\\"', '"').replace("\\'", "'")))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        elif m.group("word") is not None:
            out.append(("word", m.group("word")))
    return out


class _Parser:
    def __init__(self, jql: str) -> None:
        self.toks = _tokens(jql)
        self.i = 0
        self.now = int(time.time() * 1000)

    def peek(self, upper: bool = True) -> str | None:
        if self.i >= len(self.toks):
            return None
        kind, text = self.toks[self.i]
        return text.upper() if upper and kind == "word" else text

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise JqlError("Error in the JQL Query: the query ended unexpectedly.")
        self.i += 1
        return self.toks[self.i - 1]

    def expect(self, text: str) -> None:
        _, got = self.take()
        if got.upper() != text:
            raise JqlError(f"Error in the JQL Query: expected '{text}' but got '{got}'.")

    def parse(self) -> Query:
        where = None
        if self.peek() not in (None, "ORDER"):
            where = self.or_()
        order: list[tuple[str, bool]] = []
        if self.peek() == "ORDER":
            self.take()
            self.expect("BY")
            while True:
                raw = self.take()[1].lower()
                name = ALIASES.get(raw, raw)
                if name not in SORTABLE_FIELDS:
                    raise JqlError(f"Field '{name}' does not exist or cannot be used in ORDER BY.")
                desc = False
                if self.peek() in ("ASC", "DESC"):
                    desc = self.take()[1].upper() == "DESC"
                order.append((name, desc))
                if self.peek() != ",":
                    break
                self.take()
        if self.peek() is not None:
            raise JqlError(f"Error in the JQL Query: unexpected '{self.peek(False)}'.")
        return Query(where, tuple(order) or (("created", True), ("id", True)))

    def or_(self) -> Predicate:
        parts = [self.and_()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def and_(self) -> Predicate:
        parts = [self.not_()]
        while self.peek() == "AND":
            self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def not_(self) -> Predicate:
        if self.peek() == "NOT":
            self.take()
            inner = self.not_()
            return lambda r: not inner(r)
        if self.peek() == "(":
            self.take()
            inner = self.or_()
            self.expect(")")
            return inner
        return self.clause()

    def clause(self) -> Predicate:
        kind, raw = self.take()
        name = ALIASES.get(raw.lower(), raw.lower())
        if kind != "word" or name not in FIELDS:
            raise JqlError(f"Field '{raw}' does not exist or you do not have permission to view it.")
        op = self.take()[1].upper()
        if op == "NOT" and self.peek() == "IN":
            self.take()
            op = "NOT IN"
        if op == "IS":
            negate = self.peek() == "NOT"
            if negate:
                self.take()
            _, what = self.take()
            if what.upper() not in ("EMPTY", "NULL"):
                raise JqlError("Error in the JQL Query: expected EMPTY after IS.")
            getter = _getter(name)
            return (lambda r: getter(r) is not None) if negate else (lambda r: getter(r) is None)
        if op in ("IN", "NOT IN"):
            self.expect("(")
            values = [self.take()[1]]
            while self.peek() == ",":
                self.take()
                values.append(self.take()[1])
            self.expect(")")
        elif op in ("=", "!=", ">", ">=", "<", "<=", "~", "!~"):
            values = [self.take()[1]]
        else:
            raise JqlError(f"Error in the JQL Query: unsupported operator '{op}'.")
        return _compile(name, op, values, self.now)


def _getter(name: str) -> Callable[[Request], object]:
    return {"resolution": lambda r: r.resolution_id, "resolved": lambda r: r.resolved_ms,
            "updated": lambda r: r.updated_ms, "created": lambda r: r.created_ms}.get(name, lambda r: True)


def _norm(name: str, value: str) -> object:
    """Normalise a JQL value to what the request stores for `name`."""
    v = value.strip()
    if name == "project":
        d = next((d for d in catalog.SERVICE_DESKS if v.upper() == d.key or v == d.project_id), None)
        if d is None:
            raise JqlError(f"The value '{v}' does not exist for the field 'project'.")
        return d.id
    if name == "key":
        return v.upper()
    if name == "status":
        s = catalog.STATUS_BY_ID.get(v) or catalog.STATUS_BY_NAME.get(v.lower())
        if s is None:
            raise JqlError(f"The value '{v}' does not exist for the field 'status'.")
        return s.id
    if name == "priority":
        try:
            return catalog.priority_named(v).id
        except KeyError:
            raise JqlError(f"The value '{v}' does not exist for the field 'priority'.") from None
    if name == "statuscategory":
        for c in (catalog.CATEGORY_NEW, catalog.CATEGORY_INDETERMINATE, catalog.CATEGORY_DONE):
            if v.lower() in (c.key, c.name.lower(), str(c.id)):
                return c.key
        raise JqlError(f"The value '{v}' does not exist for the field 'statusCategory'.")
    if name == "resolution":
        return None if v.lower() == "unresolved" else next(
            (rid for rid, (n, _) in catalog.RESOLUTIONS.items() if v.lower() in (n.lower(), rid)), v)
    return v


def _compile(name: str, op: str, values: list[str], now: int) -> Predicate:
    if name in ("updated", "created", "resolved"):
        bound = parse_date(values[0], now)
        get = _getter(name)
        cmp = {">=": lambda x: x >= bound, ">": lambda x: x > bound, "<=": lambda x: x <= bound,
               "<": lambda x: x < bound, "=": lambda x: x == bound, "!=": lambda x: x != bound}.get(op)
        if cmp is None:
            raise JqlError(f"Operator '{op}' is not supported for date fields.")
        return lambda r: (v := get(r)) is not None and cmp(v)
    if name in ("summary", "text"):
        needle = values[0].lower().strip("*")
        hit: Predicate = lambda r: needle in r.summary.lower() or needle in r.description.lower()  # noqa: E731
        return hit if op == "~" else (lambda r: not hit(r))
    get_value: Callable[[Request], object] = {
        "project": lambda r: r.desk_id, "key": lambda r: r.key, "id": lambda r: str(r.id),
        "status": lambda r: r.status_id, "priority": lambda r: r.priority_id,
        "statuscategory": lambda r: catalog.STATUS_BY_ID[r.status_id].category.key,
        "resolution": lambda r: r.resolution_id, "reporter": lambda r: r.reporter.account_id,
        "type": lambda r: catalog.ISSUE_TYPES[catalog.REQUEST_TYPE_BY_ID[r.request_type_id].issue_type_id],
        "issuetype": lambda r: catalog.ISSUE_TYPES[catalog.REQUEST_TYPE_BY_ID[r.request_type_id].issue_type_id],
    }[name]
    if name == "key":
        wanted = {_norm(name, v) for v in values}
        wanted |= {str(v) for v in wanted}
        get_value = (lambda r: r.key) if all(not str(w).isdigit() for w in wanted) else (
            lambda r: r.key if r.key in wanted else str(r.id))
    else:
        wanted = {_norm(name, v) for v in values}
    if op in ("=", "IN"):
        return lambda r: get_value(r) in wanted
    if op in ("!=", "NOT IN"):
        return lambda r: get_value(r) not in wanted
    raise JqlError(f"Operator '{op}' is not supported for the field '{name}'.")


def parse(jql: str | None) -> Query:
    """Parse JQL; raises JqlError with a Jira-like message."""
    return _Parser(jql or "").parse()
