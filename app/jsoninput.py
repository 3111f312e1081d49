"""The app's JSON provider: request bodies that Python's json would take but nothing after it can keep
(nested past the recursion limit, lone UTF-16 surrogates) are not JSON here, so every `get_json` answers
them as bad input (None when silent, 400 otherwise) instead of failing later with a 500."""

from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 64


def _check(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        value.encode("utf-8")  # a lone surrogate (`"\ud800"`) raises UnicodeEncodeError, a ValueError
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, depth + 1)
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's provider, whose `loads` raises ValueError for what cannot be stored or answered."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if isinstance(s, bytes):
            s = s.decode("utf-8")  # UTF-8 only (RFC 8259 §8.1); UnicodeDecodeError is a ValueError
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        _check(value)
        return value
