"""Normalisation of the loose values Jira sends (names, ids, status categories, locales)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

# JSM's servicedeskapi says NEW/INDETERMINATE/DONE/UNDEFINED; the platform API says new/indeterminate/
# done; some payloads carry the category *name* instead ("To Do", "In Progress", "Done").
_CATEGORY_ALIASES: dict[str, str] = {
    "new": "new",
    "to do": "new",
    "todo": "new",
    "indeterminate": "indeterminate",
    "in progress": "indeterminate",
    "done": "done",
    "complete": "done",
}


def _text(value: Any) -> str | None:
    # Jira sometimes sends ids as numbers; anything else odd is stringified rather than rejected.
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    try:
        return str(value)
    except Exception:
        return None


def norm_name(value: Any) -> str | None:
    """Case-, width- and whitespace-insensitive form of a status/priority/transition name."""
    text = _text(value)
    if text is None:
        return None
    # NFKC folds full-width and compatibility forms; casefold handles ß and friends; "ё" is
    # written as "е" by many Russian users, so both spellings match.
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    text = " ".join(text.split())
    return text or None


def norm_id(value: Any) -> str | None:
    """Jira ids compare as trimmed strings (`10001` and `"10001"` are the same status)."""
    text = _text(value)
    if text is None:
        return None
    text = text.strip()
    return text or None


def norm_category(value: Any) -> str:
    """Map any status-category spelling to new/indeterminate/done, or "default" when unknown."""
    name = norm_name(value)
    if name is None:
        return "default"
    return _CATEGORY_ALIASES.get(name, "default")


def pick_locale(texts: Mapping[str, str], locale: Any) -> str:
    """Text for `locale` ("ru", "ru-RU", "ru_RU"), else English, else any text, else ""."""
    loc = norm_name(locale) or ""
    loc = loc.replace("_", "-")
    for candidate in (loc, loc.split("-")[0], "en"):
        if candidate and texts.get(candidate):
            return texts[candidate]
    return next((t for t in texts.values() if t), "")
