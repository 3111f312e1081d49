"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from app.context import runtime_of
from app.errors import json_error
from app.metrics import UnmappedCounts, exposition

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    """The process can serve: database and Redis answer."""
    runtime = runtime_of(current_app)
    checks: dict[str, str] = {}
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        runtime.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


_LOOPBACK = {"127.0.0.1", "::1"}


def _may_read_metrics() -> bool:
    # With metrics.token: that bearer token only. Without: loopback clients only (behind a proxy,
    # remote_addr is the real client once proxy.trusted_hops is set, so the proxy does not pass).
    token = runtime_of(current_app).settings.metrics.token
    if token is None:
        return request.remote_addr in _LOOPBACK
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                             token.get_secret_value().encode())


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition, for metrics.token's bearer or loopback clients only."""
    if not _may_read_metrics():
        response = json_error(401, "metrics need 'Authorization: Bearer <metrics.token>' (or a loopback client)")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    unmapped = current_app.extensions.setdefault("companion_unmapped_counts", UnmappedCounts())
    return Response(exposition(runtime_of(current_app), unmapped), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """No icon: answer 204 so browsers stop asking (and logs stay free of 404s)."""
    return Response(status=204)
