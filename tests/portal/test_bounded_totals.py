"""Totals over every organisation are counted up to a bound, and the page and the API say when they stopped."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import bearer
from tests.portal.conftest import sign_in


def test_the_admin_list_says_more_than_when_counting_stopped(client: Any, seeded: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.portal.list_stats.count_bound", lambda spec: 2)
    sign_in(client, "admin@example.test")
    page = client.get("/?scope=org").data.decode()
    assert "More than 2 requests" in page
    # Every row of the page is still there: only the count stopped.
    assert page.count('class="col-key"') > 2
    sign_in(client, "viewer@acme.test")  # an organisation's list is counted exactly, as before
    page = client.get("/").data.decode()
    assert "More than" not in page and "3 requests" in page


def test_the_api_total_says_whether_it_is_exact(client: Any, seeded: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.api.tickets.COUNT_BOUND", 1)
    every = client.get("/api/v1/tickets?scope=org&per_page=1", headers=bearer(seeded["admin"])).get_json()
    assert (every["total"], every["total_exact"], len(every["items"])) == (2, False, 1)
    own = client.get("/api/v1/tickets?scope=org&per_page=1", headers=bearer(seeded["viewer"])).get_json()
    assert (own["total"], own["total_exact"]) == (3, True)
