"""Request plumbing shared by the API blueprints: auth, faults, Atlassian error shapes, access, parameters, paging."""

from __future__ import annotations

import base64
import re
import time
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

if TYPE_CHECKING:
    from sandbox.records import Account, Request
    from sandbox.site import Sandbox

# servicedeskapi caps `limit` like the real server does.
MAX_LIMIT = 100
# Every platform blueprint serves the same paths under /rest/api/2, /3 and /latest.
PLATFORM_PREFIX = "/rest/api/<any('2','3','latest'):ver>"


def sandbox() -> Sandbox:
    """The Sandbox bundle of the current app."""
    return current_app.extensions["sandbox"]


def caller() -> Account:
    """The authenticated account of this request."""
    return g.account


def can_view(account: Account, req: Request) -> bool:
    """Agents see all; customers see own, participated and their organisations' requests."""
    if account.is_agent or req.reporter is account or account in req.participants:
        return True
    return any(o in account.org_ids for o in req.org_ids)


def family(path: str) -> str:
    """Which API family a path belongs to: `sd`, `platform`, `control` or `other`."""
    if path.startswith("/rest/servicedeskapi"):
        return "sd"
    if path.startswith(("/rest/api/", "/secure/attachment/")):
        return "platform"
    if path.startswith("/_sandbox"):
        return "control"
    return "other"


def error(status: int, message: str, i18n_key: str = "sd.error", fam: str | None = None,
          errors: dict | None = None) -> Response:
    """An error in the shape of the API family: servicedeskapi `ErrorResponse` or platform `ErrorCollection`."""
    fam = fam or family(request.path)
    if fam == "sd":
        body = {"errorMessage": message, "i18nErrorMessage": {"i18nKey": i18n_key, "parameters": []}}
    elif fam == "platform":
        body = {"errorMessages": [message] if message else [], "errors": errors or {}}
    else:
        body = {"error": message}
    resp = jsonify(body)
    resp.status_code = status
    return resp


class ApiError(Exception):
    """Raised by views; rendered by `error()`."""

    def __init__(self, status: int, message: str, i18n_key: str = "sd.error", errors: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.i18n_key, self.errors = status, message, i18n_key, errors


def _authenticate() -> Account | None:
    sb = sandbox()
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and not sb.cloud:
        return sb.state.admin if value.strip() == sb.token else None  # a DC PAT acts as its owner
    if scheme.lower() == "basic":
        try:
            user, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if secret != sb.token:
            return None
        # Any known account may call with the site token, so tests can act as a customer or an agent.
        account = sb.state.by_email.get(user.lower())
        if account is None and not sb.cloud:
            account = sb.state.find_account(user)
        return account
    return None


def _before() -> Response | None:
    fam = family(request.path)
    if fam in ("control", "other"):
        return None
    account = _authenticate()
    if account is None:
        return error(401, "You are not authenticated. Authentication required to perform this operation.",
                     "sd.security.authentication.required")
    g.account = account
    fault = sandbox().faults.api()
    if fault.latency_s:
        time.sleep(fault.latency_s)
    if fault.status == 429:
        resp = error(429, "Rate limit exceeded.", "sd.rate.limit")
        resp.headers["Retry-After"] = str(fault.retry_after)
        resp.headers["X-RateLimit-Reset"] = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(time.time() + 60))
        resp.headers["RateLimit-Reason"] = "jira-burst-based"
        return resp
    if fault.status:
        return error(fault.status, "Injected fault: the server is unavailable.", "sd.internal.error")
    verdict = sandbox().faults.cloud(request.method, _issue_key(request.path))
    if verdict is not None and verdict.refused:
        resp = error(429, "Rate limit exceeded.", "sd.rate.limit")
        resp.headers["Retry-After"] = str(verdict.retry_after)
        resp.headers["RateLimit-Reason"] = verdict.reason or ""
        if verdict.near_limit:
            resp.headers["X-RateLimit-NearLimit"] = "true"
        return resp
    g.near_limit = verdict is not None and verdict.near_limit
    return None


_ISSUE_IN_PATH = re.compile(r"/(?:request|issue)/([A-Za-z][A-Za-z0-9_]*-\d+|\d+)(?:/|$)")


def _issue_key(path: str) -> str | None:
    """The issue a request addresses (`/request/SUP-1/comment`, `/issue/10001/transitions`), for per-issue limits."""
    match = _ISSUE_IN_PATH.search(path)
    return match.group(1) if match else None


def _after(resp: Response) -> Response:
    account = g.get("account")
    if account is not None and family(request.path) == "sd":
        resp.headers["X-AACCOUNTID"] = account.account_id
    if g.get("near_limit"):
        resp.headers["X-RateLimit-NearLimit"] = "true"
    return resp


def install(app: Flask) -> None:
    """Register auth, faults and error handlers on the app."""
    app.before_request(_before)
    app.after_request(_after)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error(exc.status, exc.message, exc.i18n_key, errors=exc.errors)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return error(exc.code or 500, exc.description or exc.name)
        current_app.logger.exception("stand-in JSM bug")
        return error(500, f"Internal server error: {type(exc).__name__}", "sd.internal.error")

    @app.errorhandler(404)
    def _not_found(_exc):
        return error(404, "Not found.", "sd.not.found")

    @app.errorhandler(405)
    def _not_allowed(_exc):
        return error(405, "Method not allowed.", "sd.method.not.allowed")


def agents_only() -> None:
    """403 for customers on agent operations."""
    if not caller().is_agent:
        raise ApiError(403, "You do not have permission to perform this operation.", "sd.permission.denied")


def require_experimental() -> None:
    """Experimental operations answer 412 without `X-ExperimentalApi`."""
    if not request.headers.get("X-ExperimentalApi"):
        raise ApiError(412, "This is an experimental API. Send the header 'X-ExperimentalApi: opt-in'.",
                       "sd.experimental.api.header.missing")


def platform_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under `/rest/api/2|3|latest`; the version is kept for `v3()` instead of passed to views."""
    bp = Blueprint(name, import_name, url_prefix=PLATFORM_PREFIX)
    bp.url_value_preprocessor(_pop_api_version)
    return bp


def _pop_api_version(_endpoint, values):
    g.api_ver = values.pop("ver", "2")


def v3() -> bool:
    """True for `/rest/api/3` (rich text as ADF)."""
    return g.get("api_ver", "2") == "3"


def arg_int(name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    """An integer query parameter, clamped; 400 when it is not a number."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"The parameter '{name}' must be a number.", "sd.param.invalid") from None
    value = max(value, minimum)
    return min(value, maximum) if maximum is not None else value


def arg_bool(name: str, default: bool) -> bool:
    """A boolean query parameter (`true`/`True`/`false`, as atlassian-python-api sends them)."""
    raw = request.args.get(name)
    return default if raw is None else raw.strip().lower() in ("true", "1", "yes")


def multi_arg(name: str) -> list[str]:
    """A repeatable, comma-separable parameter (`?expand=a&expand=b` or `?expand=a,b`)."""
    return [p.strip() for v in request.args.getlist(name) for p in v.split(",") if p.strip()]


def json_body() -> dict:
    """The JSON object body; 400 otherwise."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.", "sd.body.invalid")
    return body


def paging(default: int = 50) -> tuple[int, int]:
    """`start` and `limit` query parameters (limit capped like the real server does)."""
    return arg_int("start", 0), arg_int("limit", default, 1, MAX_LIMIT)


def page(values: list, start: int, limit: int, path: str, render=None) -> dict:
    """servicedeskapi `PagedDTO` of `values[start:start+limit]`, each passed through `render` if given."""
    base = sandbox().base_url + "/rest/servicedeskapi"
    chunk = values[start:start + limit]
    if render is not None:
        chunk = [render(v) for v in chunk]
    last = start + len(chunk) >= len(values)
    links = {"base": base, "context": ""}
    if not last:
        links["next"] = f"{base}{path}?start={start + limit}&limit={limit}"
    if start > 0:
        links["prev"] = f"{base}{path}?start={max(start - limit, 0)}&limit={limit}"
    return {"_expands": [], "size": len(chunk), "start": start, "limit": limit, "isLastPage": last,
            "_links": links, "values": chunk}
