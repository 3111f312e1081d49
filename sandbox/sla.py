"""The stand-in's SLAs: computed on its own working calendar for its paid desk, paused while waiting for the customer.

Stand-alone on purpose (the stand-in imports nothing of the project): a small working-time count of its
own, Monday–Friday 10:00–19:00 Moscow time, no public holidays. Time to first response stops at the first
public agent comment (or resolution); time to resolution stops when the request reaches a done status.
Time in "Waiting for Customer" does not count, and a cycle in progress there reports `paused` and, as
JSM does for a paused cycle, no breach time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox import catalog
from sandbox.json_shapes import date_dto
from sandbox.records import Request

ZONE = ZoneInfo("Europe/Moscow")
WORKING_DAYS = (0, 1, 2, 3, 4)  # Monday to Friday
OPENS_H, CLOSES_H = 10, 19
# The paid-support desk; the free one ("HELP") has no SLA at all, as on the eXpress site (000/001).
PAID_DESKS = ("1",)
HOUR_MS = 3_600_000
FIRST_RESPONSE_GOAL_H = {"1": 1, "2": 2, "3": 4, "4": 8, "5": 16}
RESOLUTION_GOAL_H = {"1": 4, "2": 8, "3": 24, "4": 48, "5": 96}
WAITING = "Waiting for Customer"


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _periods(start_ms: int, end_ms: int) -> Iterator[tuple[int, int]]:
    day = datetime.fromtimestamp(start_ms / 1000, ZONE).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end_ms / 1000, ZONE).date()
    while day <= last:
        if day.weekday() in WORKING_DAYS:
            opens = _ms(datetime(day.year, day.month, day.day, OPENS_H, tzinfo=ZONE))
            closes = _ms(datetime(day.year, day.month, day.day, CLOSES_H, tzinfo=ZONE))
            lo, hi = max(opens, start_ms), min(closes, end_ms)
            if hi > lo:
                yield lo, hi
        day += timedelta(days=1)


def working_ms(start_ms: int, end_ms: int) -> int:
    """Working milliseconds between two instants on the stand-in's calendar."""
    return sum(hi - lo for lo, hi in _periods(start_ms, end_ms)) if end_ms > start_ms else 0


def add_working_ms(start_ms: int, amount: int) -> int:
    """The instant `amount` working milliseconds after `start_ms`."""
    cursor = start_ms
    while True:
        horizon = cursor + 14 * 24 * HOUR_MS
        for lo, hi in _periods(cursor, horizon):
            if hi - lo >= amount:
                return lo + amount
            amount -= hi - lo
        cursor = horizon


def _running_spans(req: Request, start_ms: int, stop_ms: int) -> list[tuple[int, int]]:
    """The spans between start and stop when the clock ran (outside Waiting for Customer)."""
    spans, history = [], [*req.history, ("", stop_ms)]
    for (sid, since), (_, until) in itertools.pairwise(history):
        lo, hi = max(since, start_ms), min(until, stop_ms)
        if hi > lo and catalog.STATUS_BY_ID[sid].name != WAITING:
            spans.append((lo, hi))
    return spans


def _duration(ms: int) -> dict:
    sign = "-" if ms < 0 else ""
    minutes = abs(ms) // 60_000
    return {"millis": ms, "friendly": f"{sign}{minutes // 60}h {minutes % 60}m"}


def metrics(req: Request, now_ms: int, api: str) -> list[dict]:
    """`SlaInformationDTO`s of a request (none on the free desk)."""
    if req.desk_id not in PAID_DESKS:
        return []
    done = catalog.STATUS_BY_ID[req.status_id].category is catalog.CATEGORY_DONE
    waiting = catalog.STATUS_BY_ID[req.status_id].name == WAITING
    plan = (("1", "Time to first response", FIRST_RESPONSE_GOAL_H,
             req.first_response_ms or (req.resolved_ms if done else None)),
            ("2", "Time to resolution", RESOLUTION_GOAL_H, req.resolved_ms if done else None))
    out = []
    for mid, name, goals, stop in plan:
        goal = goals[req.priority_id] * HOUR_MS
        start = req.created_ms
        end = stop if stop is not None else now_ms
        elapsed = sum(working_ms(lo, hi) for lo, hi in _running_spans(req, start, end))
        info: dict = {"id": mid, "name": name, "_links": {"self": f"{api}/request/{req.id}/sla/{mid}"},
                      "completedCycles": []}
        if stop is not None:
            breach = _breach_after(req, start, goal, stop)
            info["completedCycles"].append({
                "startTime": date_dto(start), "stopTime": date_dto(stop), "breachTime": date_dto(breach),
                "breached": elapsed > goal, "goalDuration": _duration(goal),
                "elapsedTime": _duration(elapsed), "remainingTime": _duration(goal - elapsed)})
        else:
            cycle: dict = {"startTime": date_dto(start), "breached": elapsed > goal, "paused": waiting,
                           "withinCalendarHours": any(lo <= now_ms < hi for lo, hi in _periods(now_ms, now_ms + 1)),
                           "goalDuration": _duration(goal), "elapsedTime": _duration(elapsed),
                           "remainingTime": _duration(goal - elapsed)}
            if not waiting:
                cycle["breachTime"] = date_dto(add_working_ms(now_ms, goal - elapsed) if elapsed < goal
                                               else _breach_after(req, start, goal, now_ms))
            info["ongoingCycle"] = cycle
        out.append(info)
    return out


def _breach_after(req: Request, start: int, goal: int, until: int) -> int:
    """When the running clock reached the goal (for a cycle that stopped or is already past it)."""
    left = goal
    for lo, hi in _running_spans(req, start, until):
        worked = working_ms(lo, hi)
        if worked >= left:
            return add_working_ms(lo, left)
        left -= worked
    return add_working_ms(until, left)


def now_iso(now_ms: int) -> str:
    """The stand-in's clock as ISO 8601 UTC (for `/_sandbox/clock`)."""
    return datetime.fromtimestamp(now_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
