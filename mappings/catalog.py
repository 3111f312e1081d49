"""Request-type → category lookup and customer-action → JSM transition-name lookup."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mappings.model import CategoryMatch, CategorySubtype, CustomerCategory, pairs
from mappings.normalize import norm_id, norm_name
from mappings.schema import MappingDocument


class CategoryIndex:
    """Finds the customer category (and subtype) of a JSM request type, by id first, then by name."""

    def __init__(self, doc: MappingDocument) -> None:
        self.categories: tuple[CustomerCategory, ...] = ()
        self._by_id: dict[str, CategoryMatch] = {}
        self._by_name: dict[str, CategoryMatch] = {}
        self._subtype_names: dict[tuple[str, str], set[str | None]] = {}
        built = []
        for cdef in doc.categories:
            subs = tuple(CategorySubtype(s.key, pairs(s.labels)) for s in cdef.subtypes)
            cat = CustomerCategory(cdef.key, pairs(cdef.labels), pairs(cdef.descriptions), subs)
            built.append(cat)
            self._add(cdef.request_types.ids, cdef.request_types.names, CategoryMatch(cat))
            for sdef, sub in zip(cdef.subtypes, subs, strict=True):
                self._add(sdef.request_types.ids, sdef.request_types.names, CategoryMatch(cat, sub))
                spellings = [sub.key, *sdef.labels.values(), *sdef.request_types.names]
                self._subtype_names[(cat.key, sub.key)] = {norm_name(x) for x in spellings}
        self.categories = tuple(built)

    def _add(self, ids: Iterable[str], names: Iterable[str], match: CategoryMatch) -> None:
        # First declaration wins, so the document order decides overlaps deterministically.
        for rid in ids:
            if (k := norm_id(rid)) is not None:
                self._by_id.setdefault(k, match)
        for name in names:
            if (k := norm_name(name)) is not None:
                self._by_name.setdefault(k, match)

    def lookup(self, request_type_id: Any, request_type_name: Any, subtype_value: Any = None) -> CategoryMatch | None:
        """Category of a request type, or None when it is not mapped.

        `subtype_value` is what the request's subtype field holds (003: "metric billing request"); it
        picks a subtype of the category by key, by any label, or by one of its request-type names.
        """
        rid, rname = norm_id(request_type_id), norm_name(request_type_name)
        match = None
        if rid is not None and rid in self._by_id:
            match = self._by_id[rid]
        elif rname is not None and rname in self._by_name:
            match = self._by_name[rname]
        wanted = norm_name(subtype_value)
        if match is None or wanted is None or match.subtype is not None:
            return match
        for sub in match.category.subtypes:
            if wanted in self._subtype_names[(match.category.key, sub.key)]:
                return CategoryMatch(match.category, sub)
        return match


class TransitionTable:
    """Configured JSM transition names per customer action, with per-project overrides."""

    def __init__(self, doc: MappingDocument) -> None:
        self._default = {a: list(n) for a, n in doc.transitions.default.items()}
        self._projects = {
            p.upper(): {a: list(n) for a, n in table.items()} for p, table in doc.transitions.projects.items()
        }

    def names(self, action: str, project_key: Any = None) -> list[str]:
        """Transition names for `action`; a project's list replaces (not extends) the default one."""
        project = norm_id(project_key)
        override = self._projects.get(project.upper()) if project else None
        if override is not None and action in override:
            return list(override[action])
        return list(self._default.get(action, []))

    def pick(self, action: str, available: Iterable[Any], project_key: Any = None) -> Any | None:
        """Choose among JSM's available transitions ({id, name} dicts or names) the one for `action`.

        Configured names are tried in order, so an earlier name wins when several are available.
        Returns the matching element of `available` as given, or None.
        """
        candidates = list(available)

        def name_of(item: Any) -> str | None:
            return norm_name(item.get("name") if isinstance(item, dict) else item)

        for wanted in self.names(action, project_key):
            key = norm_name(wanted)
            for item in candidates:
                if key is not None and name_of(item) == key:
                    return item
        return None

    def matches(self, action: str, transition_name: Any, project_key: Any = None) -> bool:
        """Whether a JSM transition name performs `action` (case- and whitespace-insensitive)."""
        name = norm_name(transition_name)
        return name is not None and any(norm_name(n) == name for n in self.names(action, project_key))
