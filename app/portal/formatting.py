"""Dates, durations and numbers for the portal, in the reader's language and time zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.dates import format_timedelta, parse_pattern
from babel.numbers import format_decimal
from flask import Flask, g, request, url_for
from flask_babel import get_locale

from app.context import locale_code, user_zone


def as_datetime(value: datetime | str | None) -> datetime | None:
    """Accept an aware datetime or the API's ISO string with a Z."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@lru_cache(maxsize=32)
def _babel_locale(code: str) -> Locale:
    return Locale.parse(code)


def fmt_datetime(value: datetime | str | None, style: str = "d MMM y, HH:mm") -> str:
    """A timestamp in the reader's zone and language (unambiguous day-month order in both languages)."""
    moment = as_datetime(value)
    if moment is None:
        return ""
    local = moment.astimezone(user_zone(g.get("user")))
    if style in ("full", "long", "medium", "short"):
        return babel_datetime(local, style, locale=_babel_locale(locale_code()))
    # What babel's format_datetime does for a custom pattern, minus re-parsing the locale on every
    # call: a list page or a CSV export formats hundreds of timestamps.
    return parse_pattern(style).apply(local, _babel_locale(locale_code()))


def datetime_formatter(style: str = "d MMM y, HH:mm") -> Callable[[datetime | str | None], str]:
    """`fmt_datetime` with the reader's zone and language looked up once, for long exports."""
    zone = user_zone(g.get("user"))
    code = locale_code()
    if style in ("full", "long", "medium", "short"):
        return fmt_datetime
    pattern, babel_locale = parse_pattern(style), _babel_locale(code)

    def fmt(value: datetime | str | None) -> str:
        moment = as_datetime(value)
        return "" if moment is None else pattern.apply(moment.astimezone(zone), babel_locale)

    return fmt


def fmt_date(value: datetime | str | None) -> str:
    """A date in the reader's zone and language."""
    moment = as_datetime(value)
    if moment is None:
        return ""
    return babel_date(moment.astimezone(user_zone(g.get("user"))).date(), "medium",
                      locale=_babel_locale(locale_code()))


def fmt_day(value: date | str) -> str:
    """A calendar day (e.g. a day of the summary history) in the reader's language, never shifted by zone."""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return babel_date(day, "medium", locale=_babel_locale(locale_code()))


def fmt_duration(seconds: float | None) -> str:
    """A rounded human duration ("3 hours"), or an em dash when unknown."""
    if seconds is None:
        return "—"
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, locale=locale_code())


def fmt_month(day: date) -> str:
    """The month of `day` as a heading says it ("November 2026", "ноябрь 2026")."""
    return babel_date(day, "LLLL y", locale=_babel_locale(locale_code()))


def fmt_hours(value: float) -> str:
    """Hours with at most one decimal, in the reader's number format."""
    return format_decimal(round(value, 1), format="#,##0.#", locale=_babel_locale(locale_code()))


def zone_name() -> str:
    """The name of the reader's time zone, shown next to times."""
    zone = user_zone(g.get("user"))
    return getattr(zone, "key", None) or "UTC"


def url_with(**changes: object) -> str:
    """The current page's URL with some query arguments replaced (None removes one)."""
    args = request.args.to_dict(flat=False)
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = value  # type: ignore[assignment]
    return url_for(request.endpoint or "portal.index", **(request.view_args or {}), **args)


def init_formatting(app: Flask) -> None:
    """Expose the formatters to templates as filters."""
    app.jinja_env.filters["dt"] = fmt_datetime
    app.jinja_env.filters["d"] = fmt_date
    app.jinja_env.filters["duration"] = fmt_duration
    app.jinja_env.filters["day"] = fmt_day
    app.jinja_env.filters["month_name"] = fmt_month
    app.jinja_env.filters["hours"] = fmt_hours
    app.jinja_env.globals["zone_name"] = zone_name
    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["get_locale"] = get_locale
