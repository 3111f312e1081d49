"""The Mapping object: a validated document plus its lookup indexes, and the loaders."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from mappings.catalog import CategoryIndex, TransitionTable
from mappings.checks import MappingError, parse_document, semantic_errors
from mappings.model import (
    CategoryMatch,
    CustomerCategory,
    CustomerPriority,
    CustomerStatus,
    PriorityResolution,
    StatusResolution,
    pairs,
)
from mappings.policies import PolicyBook
from mappings.resolver import PriorityResolver, StatusResolver
from mappings.schema import MappingDocument

_R = TypeVar("_R")


class _Dumper(yaml.SafeDumper):
    """SafeDumper that double-quotes strings whose plain/single-quoted forms would not read back."""


# PyYAML writes NEL/LS/PS and other unprintables raw inside plain or single-quoted scalars, where the
# reader folds them as line breaks; double quotes escape them, so the export round-trips exactly.
_UNSAFE = frozenset("\x85\u2028\u2029\r\ufeff")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(c in _UNSAFE or not c.isprintable() for c in value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


class Mapping:
    """A validated customer-vocabulary mapping; immutable once built, safe to share between threads."""

    def __init__(self, doc: MappingDocument) -> None:
        self._doc = doc
        self._statuses = {
            k: CustomerStatus(k, s.bucket, s.colour, tuple(s.actions), pairs(s.labels), pairs(s.descriptions),
                                pairs(s.others_labels), pairs(s.others_descriptions), pairs(s.replied_labels),
                                pairs(s.replied_descriptions))
            for k, s in doc.statuses.items()
        }
        self._priorities = {
            k: CustomerPriority(k, p.rank, p.colour, pairs(p.labels), pairs(p.descriptions))
            for k, p in sorted(doc.priorities.items(), key=lambda kv: kv[1].rank)
        }
        self._status_resolver = StatusResolver(doc, self._statuses)
        self._priority_resolver = PriorityResolver(doc, self._priorities)
        self._categories = CategoryIndex(doc)
        self._transitions = TransitionTable(doc)
        self._policies = PolicyBook(doc)
        # Resolutions already made: a mapping never changes, and the inbox resolves the same few Jira
        # statuses and priorities for every event (a tenth of an applied event's CPU before).
        self._status_memo: dict[tuple[str | None, ...], StatusResolution] = {}
        self._priority_memo: dict[tuple[str | None, ...], PriorityResolution] = {}

    # --- construction and export -------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: AbcMapping[str, Any]) -> Mapping:
        """Build from a plain dict; raises MappingError listing every problem."""
        return cls(parse_document(data))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data export; `Mapping.from_dict(m.to_dict()) == m`."""
        return self._doc.model_dump(mode="json", exclude_none=True)

    def to_yaml(self) -> str:
        """YAML export (keeps document order, Unicode unescaped); `load_yaml(m.to_yaml()) == m`."""
        return yaml.dump(
            self.to_dict(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
        )

    def validate(self) -> list[str]:
        """Re-check the document; returns the problems (empty for any Mapping built by the loaders)."""
        return semantic_errors(self._doc)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.to_yaml())

    def __repr__(self) -> str:
        return f"<Mapping statuses={list(self._statuses)} priorities={list(self._priorities)}>"

    @property
    def policies(self) -> PolicyBook:
        """The working calendar, the automatic rules and the SLA wording of this mapping."""
        return self._policies

    # --- vocabulary --------------------------------------------------------------------------
    @property
    def statuses(self) -> tuple[CustomerStatus, ...]:
        """Customer statuses in display order."""
        return tuple(self._statuses.values())

    @property
    def priorities(self) -> tuple[CustomerPriority, ...]:
        """Customer priorities, most urgent first."""
        return tuple(self._priorities.values())

    @property
    def categories(self) -> tuple[CustomerCategory, ...]:
        """Customer categories in document order."""
        return self._categories.categories

    def keys_in_bucket(self, bucket: str) -> tuple[str, ...]:
        """Keys of the customer statuses in `bucket` (open, resolved, closed), in display order."""
        return tuple(k for k, s in self._statuses.items() if s.bucket == bucket)

    def status(self, key: str) -> CustomerStatus:
        """Customer status by key; KeyError when unknown."""
        return self._statuses[key]

    def priority(self, key: str) -> CustomerPriority:
        """Customer priority by key; KeyError when unknown."""
        return self._priorities[key]

    # --- resolution (never raises) -----------------------------------------------------------
    def resolve_status(
        self,
        status_id: str | None,
        status_name: str | None,
        category: str | None,
        project_key: str | None = None,
        request_type_id: str | None = None,
    ) -> StatusResolution:
        """Map a Jira status to a customer status: rule by id, then name, then the category fallback."""
        args = (status_id, status_name, category, project_key, request_type_id)
        found = _memo_get(self._status_memo, args)
        if found is None:
            found = _memo_put(self._status_memo, args, self._resolve_status(*args))
        return found

    def _resolve_status(self, status_id: str | None, status_name: str | None, category: str | None,
                        project_key: str | None, request_type_id: str | None) -> StatusResolution:
        try:
            return self._status_resolver.resolve(
                status_id, status_name, category, project_key, request_type_id
            )
        except Exception:
            # The contract is "never fails a sync": a value we cannot even normalise gets the
            # default fallback, flagged as such so admins see it.
            fb = self._statuses[self._doc.status_fallbacks["default"]]
            return StatusResolution(fb.key, fb.bucket, True, "default")

    def resolve_priority(self, priority_id: str | None, priority_name: str | None) -> PriorityResolution:
        """Map a Jira priority (id, then name) to a customer priority; unmapped → fallback, fell_back=True."""
        args = (priority_id, priority_name)
        found = _memo_get(self._priority_memo, args)
        if found is None:
            found = _memo_put(self._priority_memo, args, self._resolve_priority(*args))
        return found

    def _resolve_priority(self, priority_id: str | None, priority_name: str | None) -> PriorityResolution:
        try:
            return self._priority_resolver.resolve(priority_id, priority_name)
        except Exception:
            fb = self._priorities[self._doc.priority_fallback]
            return PriorityResolution(fb.key, fb.rank, True, "default")

    def jira_priority_for(self, customer_key: str, options: list[tuple[str, str]]) -> str | None:
        """The JSM priority option (value) a customer's choice is raised with; None if no option maps to it.

        Several Jira priorities map to one customer priority (Highest and High to high); the one nearest
        the middle of JSM's list is chosen, so a customer's "high" is Jira's High and the extremes stay
        for agents to escalate or demote.
        """
        middle = (len(options) - 1) / 2
        resolved = [(i, value, self.resolve_priority(None, label)) for i, (value, label) in enumerate(options)]
        hits = [(abs(i - middle), i, value) for i, value, r in resolved if r.key == customer_key and not r.fell_back]
        return min(hits)[2] if hits else None

    def category_for(
        self, request_type_id: str | None, request_type_name: str | None = None, subtype_value: str | None = None
    ) -> CategoryMatch | None:
        """Customer category (and subtype, from the request type or `subtype_value`) of a JSM request type."""
        try:
            return self._categories.lookup(request_type_id, request_type_name, subtype_value)
        except Exception:
            return None

    # --- customer actions → JSM transitions ----------------------------------------------------
    def transitions_for(self, action: str, project_key: str | None = None) -> list[str]:
        """JSM transition names performing `action` (resolve, cancel, reopen, respond), preferred first."""
        return self._transitions.names(action, project_key)

    def pick_transition(self, action: str, available: Iterable[Any], project_key: str | None = None) -> Any:
        """The element of `available` (JSM {id, name} dicts or names) performing `action`, or None."""
        return self._transitions.pick(action, available, project_key)

    def transition_matches(
        self, action: str, transition_name: str | None, project_key: str | None = None
    ) -> bool:
        """Whether a transition name performs `action` (case-insensitive)."""
        return self._transitions.matches(action, transition_name, project_key)


def load_yaml(text: str | bytes) -> Mapping:
    """Parse and validate a YAML mapping document; raises MappingError listing every problem."""
    if not isinstance(text, str | bytes):
        raise MappingError([f"(document): expected YAML text, got {type(text).__name__}"])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError([f"(document): not valid YAML: {exc}"]) from None
    return Mapping.from_dict(data)


def load_file(path: str | Path) -> Mapping:
    """Read and validate a YAML mapping file."""
    return load_yaml(Path(path).read_text(encoding="utf-8"))


def default_yaml() -> str:
    """The text of the bundled `default.yaml`."""
    return resources.files("mappings").joinpath("default.yaml").read_text(encoding="utf-8")


@functools.cache
def load_default() -> Mapping:
    """The bundled default mapping (parsed once and cached; Mapping is immutable)."""
    return load_yaml(default_yaml())


# Distinct resolutions a mapping remembers; a site has a few dozen statuses, so this is never reached
# but by odd input (the memo then starts again rather than grow without bound).
MEMO_SIZE = 4096


def _rememberable(args: tuple[Any, ...]) -> bool:
    # Strings and None only (what a snapshot holds): 1, 1.0 and True are equal keys but may resolve
    # differently, and other values may not even be hashable.
    return all(a is None or type(a) is str for a in args)


def _memo_get(memo: dict[tuple[Any, ...], _R], args: tuple[Any, ...]) -> _R | None:
    return memo.get(args) if _rememberable(args) else None


def _memo_put(memo: dict[tuple[Any, ...], _R], args: tuple[Any, ...], value: _R) -> _R:
    if _rememberable(args):
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[args] = value
    return value
