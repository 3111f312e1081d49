"""The request page's SLA and support-hours block (support hours also head the list): wording of the
`"sla"` view and the calendar.

Times of SLA targets are written in the calendar's zone ("by Tue 14:00 (Moscow time)"), because that is
the clock support's promise is kept in; support hours are shown in both the calendar's zone and the reader's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_datetime, format_timedelta, get_timezone_location
from flask_babel import gettext as _

from app.context import locale_code, user_zone
from mappings import Mapping, WorkingCalendar

_DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _zone_label(cal: WorkingCalendar, locale: str) -> str:
    return _("%(place)s time", place=get_timezone_location(cal.zone, locale=locale, return_city=True))


def _line(item: dict[str, Any], created: datetime | None, cal: WorkingCalendar, locale: str) -> str:
    due, met = _parse(item.get("due")), _parse(item.get("met_at"))
    first = item.get("kind") == "first_response"
    if met is not None:
        took = format_timedelta(met - created, threshold=1.5, locale=locale) if created else None
        if item.get("breached"):
            return _("answered late, in %(took)s", took=took) if first and took else _("met late")
        return _("answered in %(took)s", took=took) if first and took else _("met in time")
    if item.get("paused"):
        return _("paused while we wait for you")
    if item.get("breached"):
        return _("overdue")
    if due is not None:
        when = format_datetime(due.astimezone(cal.zone), "EEE HH:mm", locale=locale)
        zone = _zone_label(cal, locale)
        if first:
            return _("first response expected by %(when)s (%(zone)s)", when=when, zone=zone)
        return _("expected by %(when)s (%(zone)s)", when=when, zone=zone)
    return ""


def _hours_text(cal: WorkingCalendar, zone: Any, locale: str) -> str:
    day = datetime.now(UTC).astimezone(cal.zone).date()
    while not cal.is_working_day(day):
        day += timedelta(days=1)
    period = cal.period(day)
    if period is None:
        return ""
    start, end = (format_datetime(t.astimezone(zone), "HH:mm", locale=locale) for t in period)
    return f"{start}–{end}"


def support_block(mapping: Mapping, ticket: dict[str, Any]) -> dict[str, Any]:
    """Display data for the `_sla.html` partial: SLA lines and the support hours (now open or not)."""
    locale = locale_code()
    cal = mapping.policies.calendar
    created = _parse(ticket.get("created"))
    lines = [{"name": item["name"], "text": _line(item, created, cal, locale), "breached": item.get("breached"),
              "paused": item.get("paused"), "met": bool(item.get("met_at"))} for item in ticket.get("sla") or []]
    return {"sla_lines": lines, "support": support_hours(mapping)}


def support_hours(mapping: Mapping) -> dict[str, Any] | None:
    """Display data for the `_support_hours.html` partial (request page and list): days, hours in the
    calendar's zone and the reader's, open now or not; None when support works around the clock."""
    locale = locale_code()
    cal = mapping.policies.calendar
    if cal.always:
        return None
    reader = user_zone()
    days = [format_datetime(datetime(2024, 1, 1 + d), "EEE", locale=locale) for d in cal.days]  # 2024-01-01: Mon
    return {"days": ", ".join(days), "hours": _hours_text(cal, cal.zone, locale), "zone": _zone_label(cal, locale),
            "reader_hours": _hours_text(cal, reader, locale), "reader_zone": getattr(reader, "key", "UTC"),
            "same_zone": getattr(reader, "key", "UTC") == cal.timezone, "open_now": cal.is_open(datetime.now(UTC))}
