"""Random JSON, random bytes and random query strings to every route of the URL map: never a 5xx.

The install is wired to a running stand-in JSM (tests/outbound/conftest.py), so the routes that ask JSM
(request types, creation fields) have it to ask, and any 5xx is about the input.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.context import SESSION_ID_KEY
from app.services.web_sessions import start_session
from sync.models import User
from tests.conftest import TEST_WEBHOOK_SECRET
from tests.helpers import sign

ARGS = {"key": "SUP-1", "jira_id": "1", "action_uuid": "00000000-0000-0000-0000-000000000000", "token": "x",
        "action_id": 1, "kind": "comment", "action": "resolve", "token_id": 1, "filename": "x.css",
        "org_id": 1, "user_id": 1, "row_id": 1}
KEYS = ["q", "page", "per_page", "scope", "status", "priority", "updated_from", "updated_to", "created_from",
        "lang", "sort", "dir", "failed", "summary", "description", "body", "score", "comment", "service_desk",
        "request_type", "version", "yaml", "document", "content_base64", "attachments", "filename",
        "webhookEvent", "issue", "timestamp", "fields", "name", "email", "role", "org", "password", "since"]
ODD = st.sampled_from(["9999-12-31", "0001-01-01", "0000-00-00", "²", "%", "_", "-1", "1e30", "10" * 20,
                       "\ud800", "\x00", "9999-12-31T23:59:59-12:00", "NaN", "[]", "{}", "null", "", "SUP-1"])
TEXT = st.one_of(ODD, st.text(max_size=20))
JSON = st.recursive(st.none() | st.booleans() | st.integers(min_value=-10**31, max_value=10**31)
                    | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | TEXT,
                                                                                  inner, max_size=5),
                    max_leaves=12)
QUERY = st.dictionaries(st.sampled_from(KEYS), TEXT, max_size=4)
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-16",
                                 "application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
EXAMPLES_PER_ROUTE = 20  # 79 routes: about 1,600 examples


def _routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = rule.build({name: ARGS.get(name, "1") for name in rule.arguments}, append_unknown=False)[1]
        out += [(method, url) for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})]
    return out


def _signed_in_browser(env: Any) -> Any:
    """A client with alice's portal session cookie, renewed before each use (a random POST may sign it out)."""
    browser = env.app.test_client()
    with env.runtime.sessions() as db:
        alice = db.scalars(select(User).where(User.email == "customer1@example.com")).one()  # "alice"

    def fresh() -> Any:
        with env.runtime.sessions() as db, db.begin():
            session_id = start_session(db, db.get(User, alice.id), "hypothesis", "127.0.0.1")
        with browser.session_transaction() as session:
            session.clear()
            session[SESSION_ID_KEY], session["_permanent"] = session_id, True
        return browser

    return fresh


def test_no_route_answers_5xx_for_random_input(env) -> None:  # type: ignore[no-untyped-def]
    env.raise_request()  # SUP-1 exists, so ticket routes reach their validation, not only their 404
    browser = _signed_in_browser(env)
    failures: list[str] = []

    def check(method: str, url: str) -> None:
        @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(query=QUERY, body=st.one_of(JSON.map(lambda v: json.dumps(v).encode()), st.binary(max_size=64)),
               content_type=CONTENT_TYPES, who=st.sampled_from([None, "alice", "admin", "cookie"]))
        def one(query: dict[str, str], body: bytes, content_type: str, who: str | None) -> None:
            # "cookie": the portal's pages and the API as a signed-in browser calls them.
            client = browser() if who == "cookie" else env.client
            headers = {"Content-Type": content_type, **(env.headers(who) if who in ("alice", "admin") else {})}
            if url.startswith("/webhooks/"):
                headers["X-Hub-Signature"] = sign(body, TEST_WEBHOOK_SECRET)
            # Percent-encoded bytes, as a client sends them (a lone surrogate arrives as invalid UTF-8).
            raw_query = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in query.items()})
            response = client.open(url, method=method, query_string=raw_query,
                                   data=body if method != "GET" else None, headers=headers)
            if response.status_code >= 500:
                failures.append(f"{method} {url}?{raw_query} {body[:80]!r} {content_type} {who} "
                                f"→ {response.status_code} {response.data[:200]!r}")

        one()

    routes = _routes(env.app)
    assert len(routes) > 40, routes  # the whole URL map, not a few routes
    for method, url in routes:
        check(method, url)
    assert not failures, "\n".join(failures[:20])
