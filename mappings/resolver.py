"""Lookup indexes built once per mapping: Jira status/priority/request type → customer vocabulary."""

from __future__ import annotations

from typing import Any

from mappings.model import CustomerPriority, CustomerStatus, PriorityResolution, StatusResolution, pairs
from mappings.normalize import norm_category, norm_id, norm_name
from mappings.schema import MappingDocument

# A rule's scope: (project key upper-cased or None, request type id or None).
Scope = tuple[str | None, str | None]


class StatusResolver:
    """Resolves (id, name, category, project, request type) to a StatusResolution; never raises."""

    def __init__(self, doc: MappingDocument, statuses: dict[str, CustomerStatus]) -> None:
        self._statuses = statuses
        self._by_id: dict[tuple[Scope, str], int] = {}
        self._by_name: dict[tuple[Scope, str], int] = {}
        for i, rule in enumerate(doc.status_rules):
            scope: Scope = (rule.project.upper() if rule.project else None, norm_id(rule.request_type))
            if (jid := norm_id(rule.jira_id)) is not None:
                self._by_id.setdefault((scope, jid), i)
            if (jname := norm_name(rule.jira_name)) is not None:
                self._by_name.setdefault((scope, jname), i)
        self._rules = doc.status_rules
        self._fallbacks = dict(doc.status_fallbacks)

    @staticmethod
    def _scopes(project_key: Any, request_type_id: Any) -> list[Scope]:
        # Most specific first: project+request type, request type, project, global. A request type
        # id is unique in a Jira site, so it is more specific than a project.
        project = norm_id(project_key)
        project = project.upper() if project else None
        rtype = norm_id(request_type_id)
        scopes: list[Scope] = []
        if project and rtype:
            scopes.append((project, rtype))
        if rtype:
            scopes.append((None, rtype))
        if project:
            scopes.append((project, None))
        scopes.append((None, None))
        return scopes

    def _hit(self, index: int, matched_by: str) -> StatusResolution:
        rule = self._rules[index]
        status = self._statuses[rule.customer_status]
        return StatusResolution(status.key, status.bucket, False, matched_by, index, pairs(rule.notes))

    def resolve(
        self, status_id: Any, status_name: Any, category: Any, project_key: Any, request_type_id: Any
    ) -> StatusResolution:
        """Within each scope (most specific first) an id match beats a name match."""
        sid, sname = norm_id(status_id), norm_name(status_name)
        for scope in self._scopes(project_key, request_type_id):
            if sid is not None and (i := self._by_id.get((scope, sid))) is not None:
                return self._hit(i, "id")
            if sname is not None and (i := self._by_name.get((scope, sname))) is not None:
                return self._hit(i, "name")
        cat = norm_category(category)
        status = self._statuses[self._fallbacks[cat]]
        how = "category" if cat != "default" else "default"
        return StatusResolution(status.key, status.bucket, True, how)


class PriorityResolver:
    """Resolves a Jira priority (id, else name) to a PriorityResolution; never raises."""

    def __init__(self, doc: MappingDocument, priorities: dict[str, CustomerPriority]) -> None:
        self._priorities = priorities
        self._by_id: dict[str, int] = {}
        self._by_name: dict[str, int] = {}
        for i, rule in enumerate(doc.priority_rules):
            if (pid := norm_id(rule.jira_id)) is not None:
                self._by_id.setdefault(pid, i)
            if (pname := norm_name(rule.jira_name)) is not None:
                self._by_name.setdefault(pname, i)
        self._rules = doc.priority_rules
        self._fallback = doc.priority_fallback

    def resolve(self, priority_id: Any, priority_name: Any) -> PriorityResolution:
        """Id first, then name, then the configured fallback (`medium` by default)."""
        pid, pname = norm_id(priority_id), norm_name(priority_name)
        for value, index, kind in ((pid, self._by_id, "id"), (pname, self._by_name, "name")):
            if value is not None and (i := index.get(value)) is not None:
                pr = self._priorities[self._rules[i].customer_priority]
                return PriorityResolution(pr.key, pr.rank, False, kind, i)
        pr = self._priorities[self._fallback]
        return PriorityResolution(pr.key, pr.rank, True, "default")
