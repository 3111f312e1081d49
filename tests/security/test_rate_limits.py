"""Rate limits with RateLimit-* headers on API calls, failed bearer tokens, live polls and exports;
none on the webhook receiver and the health check."""

from __future__ import annotations

from app.ratelimits import BEARER_FAILURE_LIMIT
from tests.helpers import bearer, make_account


def test_api_answers_carry_ratelimit_headers_counting_down(client, runtime) -> None:  # type: ignore[no-untyped-def]
    token = make_account(runtime, "alice@acme.test")
    first = client.get("/api/v1/tickets", headers=bearer(token))
    second = client.get("/api/v1/me/notifications", headers=bearer(token))
    assert first.status_code == 200 and second.status_code == 200
    assert first.headers["RateLimit-Limit"] == "600"
    assert int(first.headers["RateLimit-Remaining"]) - int(second.headers["RateLimit-Remaining"]) == 1
    assert int(first.headers["RateLimit-Reset"]) > 0


def test_repeated_bad_bearer_tokens_are_refused_with_429(client, runtime) -> None:  # type: ignore[no-untyped-def]
    allowed = int(BEARER_FAILURE_LIMIT.split()[0])
    statuses = [client.get("/api/v1/tickets", headers=bearer(f"guess-{n}")).status_code for n in range(allowed + 1)]
    assert statuses[:allowed] == [401] * allowed and statuses[-1] == 429, statuses
    refused = client.get("/api/v1/tickets", headers=bearer("guess-again"))
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_live_polls_and_exports_are_limited_with_headers(client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_account(runtime, "alice@acme.test")
    signed_in = client.post("/login", data={"email": "alice@acme.test", "password": "correct horse battery"})
    assert signed_in.status_code == 302
    for path, limit in (("/live/list", "120"), ("/export.csv", "20")):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers["RateLimit-Limit"] == limit, path


def test_webhooks_and_health_checks_are_not_limited(client) -> None:  # type: ignore[no-untyped-def]
    assert "RateLimit-Limit" not in client.get("/healthz").headers
    assert "RateLimit-Limit" not in client.post("/webhooks/jira", data=b"{}").headers
