"""Access checks of the JSON API: authentication required (401) and admins only (404 for everyone else)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from app.context import current_user
from app.errors import json_error
from sync.permissions import is_admin


def api_auth_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """JSON 401 unless the request is authenticated (bearer token or portal session)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            response = json_error(401, "authentication required: send 'Authorization: Bearer <api token>'")
            response.headers["WWW-Authenticate"] = 'Bearer realm="jsm-companion"'
            return response
        return view(*args, **kwargs)

    return wrapper


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """JSON 401 when not signed in, 404 for non-admins (admin URLs are not advertised to customers)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return api_auth_required(view)(*args, **kwargs)
        if not is_admin(user):
            # 404 like any resource outside the caller's scope: non-admins learn nothing.
            return json_error(404, "not found")
        return view(*args, **kwargs)

    return wrapper
