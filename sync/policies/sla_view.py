"""What a customer may read of a request's SLAs (DESIGN.md ticket `"sla"`): kind, due, met, breached, paused.

No internal goal names: a metric is named by the mapping's customer label, or left for the portal to word
by its kind ("First response", "Resolution"). Breach is decided against `now`, so an ongoing SLA turns
"overdue" when its breach time passes without a new fetch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mappings import Mapping
from mappings.normalize import pick_locale

# How a metric without a customer label in the mapping is named, by kind.
KIND_NAMES: dict[str, dict[str, str]] = {
    "first_response": {"en": "First response", "ru": "Первый ответ"},
    "resolution": {"en": "Resolution", "ru": "Решение"},
    "other": {"en": "Service target", "ru": "Срок обслуживания"},
}


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def customer_view(metrics: list[dict[str, Any]], mapping: Mapping, now: datetime,
                  locale: str | None = "en") -> list[dict[str, Any]]:
    """`[{"name", "kind", "due", "met_at", "breached", "paused"}]`; times stay ISO 8601 UTC strings."""
    out = []
    for metric in metrics:
        goal = mapping.policies.sla_goal(str(metric.get("name") or ""))
        ongoing, completed = metric.get("ongoing"), metric.get("completed") or []
        if ongoing:
            breach = _when(ongoing.get("breach"))
            paused = bool(ongoing.get("paused"))
            late = bool(ongoing.get("breached")) or (breach is not None and not paused and breach <= now)
            item = {"due": None if paused else ongoing.get("breach"), "met_at": None, "breached": late,
                    "paused": paused}
        elif completed:
            last = completed[-1]
            item = {"due": last.get("breach"), "met_at": last.get("stop"), "breached": bool(last.get("breached")),
                    "paused": False}
        else:
            continue
        name = goal.label(locale) or pick_locale(KIND_NAMES.get(goal.kind, KIND_NAMES["other"]), locale)
        out.append({"name": name, "kind": goal.kind, **item})
    return out


def utc_now() -> datetime:
    """The time SLA views are judged at."""
    return datetime.now(UTC)


def decided_outcomes(metrics: list[dict[str, Any]], now: datetime) -> list[tuple[datetime, bool]]:
    """(when it was decided, breached) for each decided cycle of one request's SLAs.

    A completed cycle is decided when it stopped, met or breached as JSM said; a running one is decided
    (breached) once its breach time has passed, unless paused; a running one still in time is not yet.
    """
    out = []
    for metric in metrics:
        for cycle in metric.get("completed") or []:
            stop = _when(cycle.get("stop"))
            if stop is not None:
                out.append((stop, bool(cycle.get("breached"))))
        ongoing = metric.get("ongoing")
        if ongoing and not ongoing.get("paused"):
            breach = _when(ongoing.get("breach"))
            if breach is not None and breach <= now:
                out.append((breach, True))
    return out
