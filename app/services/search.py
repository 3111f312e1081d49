"""Case-insensitive text search over tickets, the same in every database (Unicode lower-casing)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_

from app.services.like import LIKE_ESCAPE, escape_like
from sync.db import fold_text, unicode_fold
from sync.models import Ticket


def matches_text(query: str) -> Any:
    """Tickets whose subject or key contain `query`, ignoring case (Cyrillic too), wildcards taken literally.

    LIKE over lower-cased text on both sides rather than ILIKE: SQLite's LIKE folds ASCII letters only.
    """
    needle = f"%{escape_like(fold_text(query))}%"
    return or_(unicode_fold(Ticket.summary).like(needle, escape=LIKE_ESCAPE),
               unicode_fold(Ticket.key).like(needle, escape=LIKE_ESCAPE))
