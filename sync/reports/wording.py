"""The words of the monthly report mail, in English and Russian (a test keeps both complete)."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "subject": "{org}: requests in {month}",
        "title": "Requests of {org} in {month}",
        "opened": "Opened",
        "resolved": "Resolved",
        "first_response": "Median first response",
        "resolution": "Median resolution",
        "hours": "{hours} working h",
        "none": "—",
        "sla": "Service targets",
        "sla_counts": "{met} met · {breached} breached",
        "waiting": "Still waiting for your side ({count})",
        "waiting_none": "No request waits for your side.",
        "since": "since {day}",
        "chart": "The last 90 days: open at the end of each day (top), opened and resolved per day (below).",
        "working_note": "Working hours of the support calendar ({zone}).",
        "print": "Printable report",
        "why": "You receive this monthly report because you chose it in {product}.",
        "preferences": "E-mail settings",
        "unsubscribe": "Stop all e-mails",
    },
    "ru": {
        "subject": "{org}: заявки за {month}",
        "title": "Заявки {org} за {month}",
        "opened": "Создано",
        "resolved": "Решено",
        "first_response": "Медиана первого ответа",
        "resolution": "Медиана решения",
        "hours": "{hours} раб. ч",
        "none": "—",
        "sla": "Сроки обслуживания",
        "sla_counts": "соблюдено: {met} · нарушено: {breached}",
        "waiting": "Ждут ответа с вашей стороны ({count})",
        "waiting_none": "Нет заявок, ждущих ответа с вашей стороны.",
        "since": "с {day}",
        "chart": "Последние 90 дней: открытые на конец дня (вверху), созданные и решённые за день (внизу).",
        "working_note": "Рабочие часы календаря поддержки ({zone}).",
        "print": "Версия для печати",
        "why": "Вы получаете этот ежемесячный отчёт, потому что выбрали его в {product}.",
        "preferences": "Настройки писем",
        "unsubscribe": "Отписаться от всех писем",
    },
}

MONTH_NAMES: Mapping[str, tuple[str, ...]] = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "ru": ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
           "ноябрь", "декабрь"),
}


def words(locale: str | None) -> Mapping[str, str]:
    """The report's wording in `locale` (English when unknown)."""
    return WORDS.get(locale or "en", WORDS["en"])


def month_name(year: int, month: int, locale: str | None) -> str:
    """"November 2026" / "ноябрь 2026"."""
    return f"{MONTH_NAMES.get(locale or 'en', MONTH_NAMES['en'])[month - 1]} {year}"


def hours(value: float | None, locale: str | None) -> str:
    """A median in working hours as the reader writes numbers, or a dash when there was none."""
    w = words(locale)
    if value is None:
        return w["none"]
    text = f"{value:.1f}".removesuffix(".0")
    return w["hours"].format(hours=text.replace(".", ",") if locale == "ru" else text)
