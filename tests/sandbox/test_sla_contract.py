"""The stand-in's SLA answer in every state our SLA mirror reads (running, paused while waiting for the
customer, breached, completed; Cloud and Data Center; the free desk's empty page) has the shape of
Atlassian's service-management OpenAPI document, and carries no field that document does not declare."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.app import create_app
from tests.sandbox.conftest import basic, shared_jsm
from tests.sandbox.schemas import SD, _spec, validate

ADMIN = basic("admin@sandbox.local")
SDP = "/rest/servicedeskapi"
SLA_LIST = "/rest/servicedeskapi/request/{issueIdOrKey}/sla"
SLA_ONE = "/rest/servicedeskapi/request/{issueIdOrKey}/sla/{slaMetricId}"


@pytest.fixture(scope="module")
def spec():
    return shared_jsm()


@pytest.fixture(scope="module", params=["cloud", "datacenter"])
def client(request) -> Iterator:  # type: ignore[no-untyped-def]
    app = create_app(seed="empty", deployment=request.param)
    yield app.test_client()
    app.extensions["sandbox"].close()


def _post(client, path: str, body: dict) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/_sandbox" + path, json=body)
    assert response.status_code < 300, response.get_data(as_text=True)
    return response.get_json() or {}


def _declared(spec, component: str) -> set[str]:  # type: ignore[no-untyped-def]
    return set(_spec(spec, SD)["components"]["schemas"][component]["properties"])


def _check(spec, client, key: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Validate the list, each metric alone and the request's `sla` expand; return the metrics."""
    page = client.get(f"{SDP}/request/{key}/sla", headers=ADMIN)
    assert page.status_code == 200, page.get_data(as_text=True)
    validate(spec, SD, SLA_LIST, "get", 200, page.get_json())
    metrics = page.get_json()["values"]
    for metric in metrics:
        assert set(metric) <= _declared(spec, "SlaInformationDTO")
        for cycle in metric["completedCycles"]:
            assert set(cycle) <= _declared(spec, "SlaInformationCompletedCycleDTO")
        if "ongoingCycle" in metric:
            assert set(metric["ongoingCycle"]) <= _declared(spec, "SlaInformationOngoingCycleDTO")
        one = client.get(f"{SDP}/request/{key}/sla/{metric['id']}", headers=ADMIN)
        assert one.status_code == 200
        validate(spec, SD, SLA_ONE, "get", 200, one.get_json())
        assert one.get_json() == metric
    expanded = client.get(f"{SDP}/request/{key}?expand=sla", headers=ADMIN)
    validate(spec, SD, "/rest/servicedeskapi/request/{issueIdOrKey}", "get", 200, expanded.get_json())
    assert expanded.get_json()["sla"]["values"] == metrics
    return metrics


def test_sla_answers_in_every_state_match_the_document(spec, client) -> None:  # type: ignore[no-untyped-def]
    running = _post(client, "/requests", {"reporter": "customer1@example.com", "request_type": "11"})["key"]
    metrics = _check(spec, client, running)
    assert [m["name"] for m in metrics] == ["Time to first response", "Time to resolution"]
    assert all(m["ongoingCycle"]["paused"] is False for m in metrics)

    waiting = _post(client, "/requests", {"reporter": "customer1@example.com", "request_type": "11"})["key"]
    _post(client, f"/requests/{waiting}/transition", {"status": "Waiting for Customer", "comment": "Which version?"})
    assert any(m.get("ongoingCycle", {}).get("paused") for m in _check(spec, client, waiting))

    done = _post(client, "/requests", {"reporter": "customer1@example.com", "request_type": "11"})["key"]
    _post(client, f"/requests/{done}/transition", {"status": "Resolved", "comment": "Fixed"})
    assert all(m["completedCycles"] and "ongoingCycle" not in m for m in _check(spec, client, done))

    _post(client, "/clock", {"offset_hours": 24 * 14})  # two weeks on: every running goal is breached
    assert all(m["ongoingCycle"]["breached"] for m in _check(spec, client, running))
    for key in (waiting, done):
        _check(spec, client, key)


def test_the_free_desk_answers_an_empty_page_in_the_documented_shape(spec, client) -> None:  # type: ignore[no-untyped-def]
    free = _post(client, "/requests", {"reporter": "customer1@example.com", "request_type": "23"})["key"]
    assert _check(spec, client, free) == []
