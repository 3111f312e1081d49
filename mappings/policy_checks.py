"""Checks of the calendar, the automatic rules and the SLA labels of a mapping document.

Each message starts with the path of the offending value and names the rule (`policies[1] (await-closure)`),
so an admin who wrote the YAML finds the line at once.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mappings.calendar import DAY_NAMES, known_holiday_calendar, parse_clock
from mappings.schema import POLICY_ACTIONS, REQUIRED_LOCALES, SLA_KINDS, MappingDocument

# More than a year of working time is a typo (hours given as minutes), not a rule.
MAX_RULE_HOURS = 24 * 366


def _check_calendar(doc: MappingDocument, out: list[str]) -> None:
    cal = doc.calendar
    if cal is None:
        return
    try:
        ZoneInfo(cal.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        out.append(f"calendar.timezone: unknown time zone '{cal.timezone}' (e.g. Europe/Moscow)")
    unknown = [d for d in cal.days if d not in DAY_NAMES]
    if unknown:
        out.append(f"calendar.days: unknown day(s) {', '.join(unknown)} (known: {', '.join(DAY_NAMES)})")
    if not cal.days:
        out.append("calendar.days: at least one working day is needed")
    if len(cal.hours) != 2:
        out.append('calendar.hours: expected ["HH:MM", "HH:MM"] (opening and closing time)')
    else:
        try:
            opens, closes = parse_clock(cal.hours[0]), parse_clock(cal.hours[1])
            if opens is None or (closes is not None and closes <= opens):
                out.append(f"calendar.hours: closing time {cal.hours[1]} must be after opening time {cal.hours[0]}")
        except ValueError as exc:
            out.append(f"calendar.hours: {exc}")
    if cal.holidays and not known_holiday_calendar(cal.holidays):
        out.append(f"calendar.holidays: no public holidays known for '{cal.holidays}' (a country code such as RU)")


def _check_policies(doc: MappingDocument, out: list[str]) -> None:
    seen: set[str] = set()
    for i, rule in enumerate(doc.policies):
        p = f"policies[{i}] ({rule.name or 'unnamed'})"
        if not rule.name:
            out.append(f"{p}.name: a rule needs a name (policies run reports it by name)")
        elif rule.name in seen:
            out.append(f"{p}.name: duplicate rule name '{rule.name}'")
        seen.add(rule.name)
        if rule.when not in doc.statuses:
            out.append(f"{p}.when: unknown customer status '{rule.when}'")
        if rule.do not in POLICY_ACTIONS:
            out.append(f"{p}.do: unknown action '{rule.do}' (known: {', '.join(POLICY_ACTIONS)})")
        elif rule.do != "remind" and not doc.transitions.default.get(rule.do) \
                and not any(t.get(rule.do) for t in doc.transitions.projects.values()):
            out.append(f"{p}.do: '{rule.do}' needs its JSM transition names in transitions.default.{rule.do}")
        if not 0 < rule.after_working_hours <= MAX_RULE_HOURS:
            out.append(f"{p}.after_working_hours: must be more than 0 and at most {MAX_RULE_HOURS}")
        if rule.comment is not None:
            missing = [loc for loc in REQUIRED_LOCALES if not (rule.comment.get(loc) or "").strip()]
            if missing:
                out.append(f"{p}.comment: missing locale(s) {', '.join(missing)}")


def _check_sla(doc: MappingDocument, out: list[str]) -> None:
    for name, goal in doc.sla.goals.items():
        p = f"sla.goals.{name}"
        if goal.kind not in SLA_KINDS:
            out.append(f"{p}.kind: unknown kind '{goal.kind}' (known: {', '.join(SLA_KINDS)})")
        if goal.labels is not None:
            missing = [loc for loc in REQUIRED_LOCALES if not (goal.labels.get(loc) or "").strip()]
            if missing:
                out.append(f"{p}.labels: missing locale(s) {', '.join(missing)}")


def policy_errors(doc: MappingDocument) -> list[str]:
    """Problems of the calendar, rules and SLA labels (empty when they are sound)."""
    out: list[str] = []
    _check_calendar(doc, out)
    _check_policies(doc, out)
    _check_sla(doc, out)
    return out
