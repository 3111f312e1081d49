"""Mapping and request-type reads show each caller only what they may see."""

from __future__ import annotations

import json

from tests.helpers import bearer, make_account


def test_customers_read_the_vocabulary_without_jira_status_names(client, runtime) -> None:  # type: ignore[no-untyped-def]
    customer = client.get("/api/v1/mapping", headers=bearer(make_account(runtime, "alice@acme.test"))).json
    admin = client.get("/api/v1/mapping", headers=bearer(make_account(runtime, "root@x.test", "admin", None))).json
    assert "Waiting for Support" in json.dumps(admin["document"]), "the admin sees the Jira side"
    text = json.dumps(customer["document"])
    assert "Waiting for Support" not in text and "jira_name" not in text
    jira_side = {"status_rules", "status_fallbacks", "priority_rules", "transitions", "policies"}
    assert jira_side.isdisjoint(customer["document"])
    assert set(customer["document"]["statuses"]) == set(admin["document"]["statuses"])
    assert all("request_types" not in c for c in customer["document"]["categories"])


def test_a_view_only_role_gets_no_service_desks_to_open_requests_in(client, runtime) -> None:  # type: ignore[no-untyped-def]
    viewer = make_account(runtime, "boss@acme.test", role="org_viewer")
    response = client.get("/api/v1/request-types", headers=bearer(viewer))
    assert response.status_code == 200 and response.json == {"items": []}
