"""The Jira statuses a site really has: discovered from JSM or seen in tickets, with ticket counts and how
the active mapping shows each to customers. The mapping editor lists these first; the built-in vocabulary's
many other names (for other sites' workflows) are folded away behind them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from mappings import Mapping
from mappings.normalize import norm_name
from sync.models import Ticket
from sync.projection.discovery import discovered

if TYPE_CHECKING:
    from sync.runtime import Runtime


@dataclass
class SiteStatus:
    """One Jira status of the site and what customers read for it under a mapping (no project override)."""

    name: str
    id: str | None = None
    category: str | None = None
    tickets: int = 0
    customer_status: str = ""
    fell_back: bool = True
    # The global rule that maps it (index into the document's status_rules), None while it falls back.
    rule_index: int | None = None
    notes: dict[str, str] = field(default_factory=dict)


def _seen(runtime: Runtime) -> list[tuple[Any, ...]]:
    with runtime.sessions() as session:
        return [tuple(row) for row in session.execute(
            select(Ticket.jira_status_id, Ticket.jira_status_name, Ticket.jira_status_category, func.count())
            .where(Ticket.deleted.is_(False), Ticket.jira_status_name.is_not(None))
            .group_by(Ticket.jira_status_id, Ticket.jira_status_name, Ticket.jira_status_category))]


def collect(found: list[dict[str, Any]], seen: list[tuple[Any, ...]], mapping: Mapping) -> list[SiteStatus]:
    """Merge discovered statuses and ticket counts by name (a site's status names are unique), most used first."""
    by_name: dict[str, SiteStatus] = {}
    rows = [(s.get("id"), s.get("name"), s.get("category"), 0) for s in found] + seen
    for status_id, name, category, count in rows:
        key = norm_name(name)
        if key is None:
            continue
        entry = by_name.setdefault(key, SiteStatus(name=str(name)))
        entry.id = entry.id or (str(status_id) if status_id else None)
        entry.category = entry.category or category
        entry.tickets += int(count)
    rules = mapping.to_dict()["status_rules"]
    for entry in by_name.values():
        resolution = mapping.resolve_status(entry.id, entry.name, entry.category)
        entry.customer_status, entry.fell_back = resolution.key, resolution.fell_back
        entry.rule_index = resolution.rule_index
        if resolution.rule_index is not None:
            entry.notes = dict(rules[resolution.rule_index].get("notes") or {})
    return sorted(by_name.values(), key=lambda s: (-s.tickets, s.name.casefold()))


def site_statuses(runtime: Runtime) -> list[SiteStatus]:
    """The site's statuses under the active mapping (see `collect`)."""
    return collect(discovered(runtime)["statuses"], _seen(runtime), runtime.mapping)


def site_projects(runtime: Runtime) -> list[str]:
    """Project keys an override may name: the mirrored ones, those with tickets and the discovered desks."""
    with runtime.sessions() as session:
        keys = set(session.scalars(select(Ticket.project_key).where(Ticket.project_key.is_not(None)).distinct()))
    keys |= set(runtime.settings.jira.projects)
    keys |= {rt["service_desk"] for rt in discovered(runtime)["request_types"] if rt.get("service_desk")}
    return sorted(k for k in keys if k)
