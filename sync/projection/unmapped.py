"""What the active mapping does not cover: statuses, priorities and request types seen or discovered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from sync.models import Ticket
from sync.projection.discovery import discovered

if TYPE_CHECKING:
    from sync.runtime import Runtime


def unmapped_report(runtime: Runtime) -> dict[str, list[dict[str, Any]]]:
    """Jira values no rule maps (they fall back meanwhile), with how many tickets are in each."""
    mapping = runtime.mapping
    found = discovered(runtime)
    statuses: dict[tuple[Any, ...], dict[str, Any]] = {}
    priorities: dict[tuple[Any, ...], dict[str, Any]] = {}
    with runtime.sessions() as session:
        seen_statuses = session.execute(
            select(Ticket.jira_status_id, Ticket.jira_status_name, Ticket.jira_status_category, func.count())
            .where(Ticket.deleted.is_(False))
            .group_by(Ticket.jira_status_id, Ticket.jira_status_name, Ticket.jira_status_category)).all()
        seen_priorities = session.execute(
            select(Ticket.jira_priority_id, Ticket.jira_priority_name, func.count())
            .where(Ticket.deleted.is_(False)).group_by(Ticket.jira_priority_id, Ticket.jira_priority_name)).all()
    candidates = [(s["id"], s["name"], s.get("category"), 0) for s in found["statuses"]] + list(seen_statuses)
    for status_id, name, category, count in candidates:
        resolution = mapping.resolve_status(status_id, name, category)
        if resolution.fell_back:
            entry = statuses.setdefault((status_id, name), {"id": status_id, "name": name, "category": category,
                                                            "tickets": 0, "falls_back_to": resolution.key})
            entry["tickets"] += count
    for priority_id, name, count in [(p["id"], p["name"], 0) for p in found["priorities"]] + list(seen_priorities):
        priority = mapping.resolve_priority(priority_id, name)
        if priority.fell_back:
            entry = priorities.setdefault((priority_id, name), {"id": priority_id, "name": name, "tickets": 0,
                                                                "falls_back_to": priority.key})
            entry["tickets"] += count
    request_types = [rt for rt in found["request_types"] if mapping.category_for(rt["id"], rt["name"]) is None]
    return {"statuses": list(statuses.values()), "priorities": list(priorities.values()),
            "request_types": request_types}
