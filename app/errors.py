"""The JSON error answer every API route gives: `{"error": "<what is wrong>", ...}` with a status."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


def json_error(status: int, message: str, **extra: Any) -> Response:
    """A JSON error response; `extra` adds fields such as `messages` or `field`."""
    response = jsonify(error=message, **extra)
    response.status_code = status
    return response
