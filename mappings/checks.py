"""Validation of a mapping document: every message starts with the dotted path of the offending entry."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from mappings.normalize import norm_name
from mappings.policy_checks import policy_errors
from mappings.schema import (
    BUCKETS,
    CUSTOMER_ACTIONS,
    FALLBACK_CATEGORIES,
    REQUIRED_LOCALES,
    TRANSITION_ACTIONS,
    MappingDocument,
)

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_COLOUR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")

# Domain rules (000/001: a closed request can no longer be commented on; 002/004: reopen and rate
# follow resolution or closure). Each entry: action -> buckets in which a status may allow it.
_ACTION_BUCKETS: dict[str, tuple[str, ...]] = {
    "comment": ("open", "resolved"),
    "attach": ("open", "resolved"),
    "resolve": ("open",),
    "cancel": ("open",),
    "reopen": ("resolved", "closed"),
    "rate": ("resolved", "closed"),
}


class MappingError(ValueError):
    """A mapping document is invalid; `messages` lists every problem found."""

    def __init__(self, messages: Iterable[str]) -> None:
        self.messages: list[str] = list(messages)
        super().__init__("invalid mapping:\n  " + "\n  ".join(self.messages))


def format_loc(loc: Iterable[Any]) -> str:
    """Render a pydantic error location as `a.b[3].c`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(document)"


def shape_errors(exc: ValidationError) -> list[str]:
    """Turn pydantic errors into `path: message` lines."""
    messages = []
    for err in exc.errors(include_url=False):
        kind = err.get("type", "")
        msg = {"missing": "missing", "extra_forbidden": "unknown key"}.get(kind, err.get("msg", "invalid"))
        messages.append(f"{format_loc(err.get('loc', ()))}: {msg}")
    return messages


def _texts(path: str, texts: Mapping[str, str] | None, out: list[str]) -> None:
    if texts is None:
        return
    for loc in REQUIRED_LOCALES:
        if not (texts.get(loc) or "").strip():
            out.append(f"{path}.{loc}: missing")


def _key(path: str, key: str, out: list[str]) -> None:
    if not _KEY_RE.match(key):
        out.append(f"{path}: key '{key}' must be lower-case letters, digits and '_', starting with a letter")


def _check_statuses(doc: MappingDocument, out: list[str]) -> None:
    if not doc.statuses:
        out.append("statuses: at least one status is required")
    for key, st in doc.statuses.items():
        p = f"statuses.{key}"
        _key(p, key, out)
        if st.bucket not in BUCKETS:
            out.append(f"{p}.bucket: '{st.bucket}' is not one of {', '.join(BUCKETS)}")
        if not _COLOUR_RE.match(st.colour):
            out.append(f"{p}.colour: '{st.colour}' is not a #rgb or #rrggbb colour")
        _texts(f"{p}.labels", st.labels, out)
        _texts(f"{p}.descriptions", st.descriptions, out)
        for name in ("others_labels", "others_descriptions", "replied_labels", "replied_descriptions"):
            if getattr(st, name) is not None:
                _texts(f"{p}.{name}", getattr(st, name), out)
        seen: set[str] = set()
        for i, action in enumerate(st.actions):
            ap = f"{p}.actions[{i}]"
            if action not in CUSTOMER_ACTIONS:
                out.append(f"{ap}: unknown action '{action}' (known: {', '.join(CUSTOMER_ACTIONS)})")
            elif st.bucket in BUCKETS and st.bucket not in _ACTION_BUCKETS[action]:
                allowed = "/".join(_ACTION_BUCKETS[action])
                out.append(f"{ap}: '{action}' is not allowed in a {st.bucket} status (only {allowed})")
            if action in seen:
                out.append(f"{ap}: duplicate action '{action}'")
            seen.add(action)


def _check_priorities(doc: MappingDocument, out: list[str]) -> None:
    if not doc.priorities:
        out.append("priorities: at least one priority is required")
    ranks: dict[int, str] = {}
    for key, pr in doc.priorities.items():
        p = f"priorities.{key}"
        _key(p, key, out)
        if pr.colour is not None and not _COLOUR_RE.match(pr.colour):
            out.append(f"{p}.colour: '{pr.colour}' is not a #rgb or #rrggbb colour")
        _texts(f"{p}.labels", pr.labels, out)
        _texts(f"{p}.descriptions", pr.descriptions, out)
        if pr.rank in ranks:
            out.append(f"{p}.rank: {pr.rank} is already used by '{ranks[pr.rank]}'")
        ranks.setdefault(pr.rank, key)
    if doc.priority_fallback not in doc.priorities:
        out.append(f"priority_fallback: unknown priority '{doc.priority_fallback}'")


def _check_rules(doc: MappingDocument, out: list[str]) -> None:
    # A (scope, id|name) pair may appear once: two rules for it would make the result order-dependent.
    seen: dict[tuple[str | None, str | None, str, str], int] = {}
    for i, rule in enumerate(doc.status_rules):
        p = f"status_rules[{i}]"
        if rule.customer_status not in doc.statuses:
            out.append(f"{p}.customer_status: unknown status '{rule.customer_status}'")
        if not rule.jira_id and not rule.jira_name:
            out.append(f"{p}: needs jira_id or jira_name")
        _texts(f"{p}.notes", rule.notes, out)
        scope = (rule.project.upper() if rule.project else None, rule.request_type)
        for kind, value in (("id", rule.jira_id), ("name", norm_name(rule.jira_name))):
            if value:
                first = seen.setdefault((*scope, kind, value), i)
                if first != i:
                    out.append(f"{p}: {kind} '{value}' is already mapped by status_rules[{first}]")
    for cat, target in doc.status_fallbacks.items():
        if cat not in FALLBACK_CATEGORIES:
            out.append(f"status_fallbacks.{cat}: unknown category (known: {', '.join(FALLBACK_CATEGORIES)})")
        if target not in doc.statuses:
            out.append(f"status_fallbacks.{cat}: unknown status '{target}'")
    for cat in FALLBACK_CATEGORIES:
        if cat not in doc.status_fallbacks:
            out.append(f"status_fallbacks.{cat}: missing")
    pseen: dict[tuple[str, str], int] = {}
    for i, prule in enumerate(doc.priority_rules):
        p = f"priority_rules[{i}]"
        if prule.customer_priority not in doc.priorities:
            out.append(f"{p}.customer_priority: unknown priority '{prule.customer_priority}'")
        if not prule.jira_id and not prule.jira_name:
            out.append(f"{p}: needs jira_id or jira_name")
        for kind, value in (("id", prule.jira_id), ("name", norm_name(prule.jira_name))):
            if value:
                first = pseen.setdefault((kind, value), i)
                if first != i:
                    out.append(f"{p}: {kind} '{value}' is already mapped by priority_rules[{first}]")


def _check_categories(doc: MappingDocument, out: list[str]) -> None:
    keys: set[str] = set()
    for i, cat in enumerate(doc.categories):
        p = f"categories[{i}]"
        _key(f"{p}.key", cat.key, out)
        if cat.key in keys:
            out.append(f"{p}.key: duplicate category '{cat.key}'")
        keys.add(cat.key)
        _texts(f"{p}.labels", cat.labels, out)
        _texts(f"{p}.descriptions", cat.descriptions, out)
        sub_keys: set[str] = set()
        for j, sub in enumerate(cat.subtypes):
            sp = f"{p}.subtypes[{j}]"
            _key(f"{sp}.key", sub.key, out)
            if sub.key in sub_keys:
                out.append(f"{sp}.key: duplicate subtype '{sub.key}'")
            sub_keys.add(sub.key)
            _texts(f"{sp}.labels", sub.labels, out)


def _check_transitions(doc: MappingDocument, out: list[str]) -> None:
    tables = [("transitions.default", doc.transitions.default)]
    tables += [(f"transitions.projects.{k}", v) for k, v in doc.transitions.projects.items()]
    for path, table in tables:
        for action, names in table.items():
            if action not in TRANSITION_ACTIONS:
                out.append(f"{path}.{action}: unknown action (known: {', '.join(TRANSITION_ACTIONS)})")
            for j, name in enumerate(names):
                if not name.strip():
                    out.append(f"{path}.{action}[{j}]: empty transition name")


def semantic_errors(doc: MappingDocument) -> list[str]:
    """Cross-reference and domain-rule checks on a document whose shape is already valid."""
    out: list[str] = []
    _check_statuses(doc, out)
    _check_priorities(doc, out)
    _check_rules(doc, out)
    _check_categories(doc, out)
    _check_transitions(doc, out)
    out.extend(policy_errors(doc))
    return out


def parse_document(data: Any) -> MappingDocument:
    """Parse and fully validate a plain dict; raise MappingError listing every problem."""
    if not isinstance(data, Mapping):
        raise MappingError([f"(document): expected a mapping, got {type(data).__name__}"])
    try:
        doc = MappingDocument.model_validate(dict(data))
    except ValidationError as exc:
        raise MappingError(shape_errors(exc)) from None
    problems = semantic_errors(doc)
    if problems:
        raise MappingError(problems)
    return doc
