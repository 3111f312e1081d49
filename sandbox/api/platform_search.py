"""`/rest/api/2|3/search...`: JQL search, Cloud enhanced (`/search/jql`) and Data Center classic (`/search`)."""

from __future__ import annotations

import base64
from collections import OrderedDict

from flask import jsonify, request

from sandbox.api.plumbing import ApiError, caller, json_body, platform_blueprint, sandbox, v3
from sandbox.issues import parse_fields
from sandbox.jql import JqlError, parse
from sandbox.records import Request

bp = platform_blueprint("platform_search", __name__)
_CACHE_SIZE = 32


def _matches(jql: str, bounded: bool) -> list[Request]:
    """All requests matching `jql` in its order; cached per state version so paging is O(page)."""
    sb, me = sandbox(), caller()
    cache: OrderedDict = sb.__dict__.setdefault("search_cache", OrderedDict())
    with sb.state.lock:
        ck = (jql, sb.state.version, me.is_agent)
        rows = cache.get(ck)
        if rows is None:
            try:
                q = parse(jql)
            except JqlError as exc:
                raise ApiError(400, str(exc)) from None
            if bounded and q.where is None:
                raise ApiError(400, "Unbounded JQL queries are not allowed here. "
                                    "Please add a search restriction to your query.")
            everything = sb.state.sorted_requests(q.order)
            where = q.where or (lambda r: True)
            rows = [r for r in everything if where(r)] if me.is_agent else []
            cache[ck] = rows
            while len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)
        return rows


def _search_params() -> dict:
    """Merge GET query parameters and a POST JSON body into one dict."""
    if request.method == "POST":
        body = json_body()
        if isinstance(body.get("fields"), list):
            body["fields"] = ",".join(body["fields"])
        if isinstance(body.get("expand"), list):
            body["expand"] = ",".join(body["expand"])
        return body
    return {k: request.args.get(k) for k in ("jql", "nextPageToken", "maxResults", "startAt", "fields", "expand")}


def _int(params: dict, name: str, default: int, maximum: int) -> int:
    try:
        value = int(params.get(name) if params.get(name) not in (None, "") else default)
    except (TypeError, ValueError):
        raise ApiError(400, f"The '{name}' parameter must be a number.") from None
    return max(0, min(value, maximum))


@bp.route("/search/jql", methods=["GET", "POST"])
def enhanced_search():
    sb = sandbox()
    if not sb.cloud:
        raise ApiError(404, "null for uri: /rest/api/2/search/jql")
    p = _search_params()
    wanted, excluded = parse_fields(p.get("fields"), default_all=False)
    # Like Cloud: up to 5000 ids per page, far fewer when fields are requested.
    cap = 5000 if wanted == set() else 100
    limit = _int(p, "maxResults", 50, cap) or cap
    token = p.get("nextPageToken")
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise ApiError(400, "The provided next page token is invalid or expired.") from None
    rows = _matches(p.get("jql") or "", bounded=True)
    chunk = rows[offset:offset + limit]
    with sb.state.lock:
        issues = [sb.issues.issue(r, wanted, excluded, v3(), p.get("expand") or "") for r in chunk]
    out: dict = {"issues": issues, "isLast": offset + len(chunk) >= len(rows)}
    if not out["isLast"]:
        out["nextPageToken"] = base64.urlsafe_b64encode(str(offset + len(chunk)).encode()).decode()
    return jsonify(out)


@bp.route("/search", methods=["GET", "POST"])
def classic_search():
    sb = sandbox()
    if sb.cloud:
        # Removed on Cloud (CHANGE-2046); clients must use /search/jql.
        raise ApiError(410, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.")
    p = _search_params()
    wanted, excluded = parse_fields(p.get("fields"), default_all=False)
    if not p.get("fields"):
        wanted = None  # DC's default is *navigable; *all is close enough here
    start, limit = _int(p, "startAt", 0, 10**9), _int(p, "maxResults", 50, 1000)
    rows = _matches(p.get("jql") or "", bounded=False)
    with sb.state.lock:
        issues = [sb.issues.issue(r, wanted, excluded, False, p.get("expand") or "") for r in rows[start:start + limit]]
    return jsonify({"expand": "schema,names", "startAt": start, "maxResults": limit, "total": len(rows),
                    "issues": issues})
