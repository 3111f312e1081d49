"""Text a user searches for, matched literally by SQL LIKE (its `%` and `_` are not wildcards)."""

from __future__ import annotations

LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards and the escape character escaped; use with `escape=LIKE_ESCAPE`."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
