"""Bad input gets a 4xx (or is accepted safely), never a 5xx: the reproductions of the adversarial review."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import drain, issue_payload, post_webhook


def _sign_in(env: Any) -> None:
    response = env.client.post("/login", data={"email": "customer1@example.com", "password": "correct horse battery"})
    assert response.status_code == 302


def _webhook_status(env: Any, raw: bytes) -> int:
    return int(post_webhook(env.client, None, raw=raw).status_code)


def test_receiver_refuses_deep_json_and_non_utf8_bodies_with_400(env) -> None:  # type: ignore[no-untyped-def]
    deep = b"[" * 100_000 + b"]" * 100_000
    assert _webhook_status(env, deep) == 400
    utf16 = json.dumps(issue_payload()).encode("utf-16")
    assert _webhook_status(env, utf16) == 400


@pytest.mark.parametrize("change", [
    {"timestamp": 10**30},
    {"timestamp": -10**30},
    {"issue.updated": "9999-12-31T23:59:59.000-1200"},
    {"issue.updated": "0001-01-01T00:00:00.000+1400"},
])
def test_receiver_answers_out_of_range_times_without_5xx(env, change: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    payload = issue_payload()
    for path, value in change.items():
        if path == "issue.updated":
            payload["issue"]["fields"]["updated"] = value
        else:
            payload[path] = value
    status = _webhook_status(env, json.dumps(payload).encode())
    assert status < 500, status
    drain(env.runtime)  # applying whatever was accepted must not fail either


@pytest.mark.parametrize("path", ["/", "/export.csv", "/live/list"])
@pytest.mark.parametrize("query", ["updated_to=9999-12-31", "updated_from=9999-12-31", "updated_to=0001-01-01",
                                   "page=100000000000000000000", "page=-5"])
def test_list_filters_at_the_edges_of_the_calendar_are_not_5xx(env, path: str, query: str) -> None:  # type: ignore[no-untyped-def]
    env.raise_request()
    _sign_in(env)
    assert env.client.get(f"{path}?{query}").status_code < 500


def test_api_comment_with_a_lone_surrogate_or_a_list_as_content_is_400(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    raw = b'{"body": "broken \\ud800 text"}'
    response = env.client.post(f"/api/v1/tickets/{key}/comments", data=raw,
                               headers={**env.headers(), "Content-Type": "application/json"})
    assert response.status_code == 400, response.data
    files = {"body": "see file", "attachments": [{"name": "a.txt", "content_base64": ["QQ=="]}]}
    response = env.client.post(f"/api/v1/tickets/{key}/comments", json=files, headers=env.headers())
    assert response.status_code == 400, response.data
    assert env.client.get("/api/v1/tickets?q=%ud800", headers=env.headers()).status_code < 500


def test_portal_rating_with_a_superscript_digit_is_refused_not_5xx(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    _sign_in(env)
    for score in ("²", "٣", "99999999999999999999999"):
        assert env.client.post(f"/tickets/{key}/actions/rate", data={"score": score}).status_code < 500, score


@pytest.mark.parametrize("body", [[1, 2], {"version": 10**30}, {"version": -1}, {"version": True}, "x"])
def test_mapping_rollback_refuses_odd_bodies_without_5xx(env, body: Any) -> None:  # type: ignore[no-untyped-def]
    response = env.client.post("/api/v1/mapping/rollback", json=body, headers=env.headers("admin"))
    assert response.status_code in (400, 404), (response.status_code, response.data)


def test_api_search_for_percent_or_underscore_is_literal_as_in_the_portal(env) -> None:  # type: ignore[no-untyped-def]
    env.raise_request()
    assert env.client.get("/api/v1/tickets?q=SUP", headers=env.headers()).json["total"] == 1
    for wildcard in ("%25", "_"):
        assert env.client.get(f"/api/v1/tickets?q={wildcard}", headers=env.headers()).json["total"] == 0, wildcard


def test_csv_cell_starting_with_a_line_feed_is_defused(env) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    env.raise_request(summary="\n=HYPERLINK(\"http://evil.example\")")
    _sign_in(env)
    rows = list(csv.reader(io.StringIO(env.client.get("/export.csv").data.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row if "HYPERLINK" in cell]
    assert cells and all(cell.startswith("'") for cell in cells), rows
