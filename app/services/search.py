"""Case-insensitive text search over tickets, the same in every database (Unicode lower-casing)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_

from sync.db import fold_text, unicode_fold
from sync.models import Ticket


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def matches_text(query: str) -> Any:
    """Tickets whose subject or key contain `query`, ignoring case (Cyrillic too), wildcards taken literally.

    LIKE over lower-cased text on both sides rather than ILIKE: SQLite's LIKE folds ASCII letters only.
    """
    needle = f"%{_escape_like(fold_text(query))}%"
    return or_(unicode_fold(Ticket.summary).like(needle, escape="\\"),
               unicode_fold(Ticket.key).like(needle, escape="\\"))
