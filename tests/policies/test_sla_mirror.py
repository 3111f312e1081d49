"""SLAs mirrored from the stand-in JSM: the API shows due / met / breached / paused as the stand-in's own
SLA answer says for its paid desk, and "no SLA" (`[]`) on the free one; fetched only when they can change."""

from __future__ import annotations

from datetime import UTC, datetime

import requests

from sync.jobs import refresh_slas
from tests.policies.conftest import move_sandbox_clock_to


def _jsm_sla(env, key: str) -> list[dict]:  # type: ignore[no-untyped-def]
    response = requests.get(f"{env.sb.url}/rest/servicedeskapi/request/{key}/sla",
                            auth=(env.sb.email, env.sb.token), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["values"]


def _iso(date_dto: dict | None) -> str | None:
    if not date_dto:
        return None
    return datetime.fromtimestamp(date_dto["epochMillis"] / 1000, UTC).isoformat().replace("+00:00", "Z")


def _api_sla(env, key: str, who: str = "alice", lang: str = "en") -> list[dict]:  # type: ignore[no-untyped-def]
    response = env.client.get(f"/api/v1/tickets/{key}?lang={lang}", headers=env.headers(who))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["sla"]


def _expected(jsm: list[dict]) -> list[dict]:
    out = []
    for m in jsm:
        kind = {"Time to first response": "first_response", "Time to resolution": "resolution"}[m["name"]]
        if "ongoingCycle" in m:
            c = m["ongoingCycle"]
            out.append({"kind": kind, "due": _iso(c.get("breachTime")), "met_at": None,
                        "breached": c["breached"], "paused": c["paused"]})
        else:
            c = m["completedCycles"][-1]
            out.append({"kind": kind, "due": _iso(c["breachTime"]), "met_at": _iso(c["stopTime"]),
                        "breached": c["breached"], "paused": False})
    return out


def _without_names(view: list[dict]) -> list[dict]:
    return [{k: v for k, v in item.items() if k != "name"} for item in view]


def test_paid_desk_slas_match_the_stand_in_and_free_desk_has_none(env) -> None:  # type: ignore[no-untyped-def]
    paid = env.raise_request(summary="Payments are down", request_type="11")
    free = env.raise_request(summary="Where is my invoice?", request_type="22", reporter="customer1@example.com")
    calls = refresh_slas(env.runtime, [paid, free])["jsm_calls"]
    assert calls == 2  # one per ticket, the first time
    view = _api_sla(env, paid)
    assert _without_names(view) == _expected(_jsm_sla(env, paid))
    assert [v["name"] for v in view] == ["First response", "Resolution"]  # no internal goal names
    assert _api_sla(env, free) == []
    assert refresh_slas(env.runtime, [paid, free])["jsm_calls"] == 0  # nothing changed: nothing asked

    # Waiting for the customer pauses them; an agent's public answer meets the first response.
    env.sandbox_post(f"/_sandbox/requests/{paid}/transition",
                     {"status": "Waiting for Customer", "comment": "Which card did you use?"})
    env.sync_in()
    assert refresh_slas(env.runtime, [paid, free])["jsm_calls"] == 1  # the free desk is not asked again
    view = _api_sla(env, paid)
    assert _without_names(view) == _expected(_jsm_sla(env, paid))
    first, resolution = view
    assert first["met_at"] and not first["breached"]
    assert resolution["paused"] and resolution["due"] is None

    # Back to support, then a week later on the stand-in's clock: resolution overdue.
    env.sandbox_post(f"/_sandbox/requests/{paid}/transition", {"status": "In Progress"})
    env.sync_in()
    move_sandbox_clock_to(env, datetime.fromtimestamp(env.sb.state.now_ms() / 1000 + 7 * 86400, UTC))
    env.sandbox_post(f"/_sandbox/requests/{paid}/priority", {"priority": "High"})
    env.sync_in()
    refresh_slas(env.runtime, [paid])
    view = _api_sla(env, paid)
    assert _without_names(view) == _expected(_jsm_sla(env, paid))
    assert view[1]["breached"] and view[1]["due"]
    assert [v["name"] for v in _api_sla(env, paid, lang="ru")] == ["Первый ответ", "Решение"]


def test_a_storm_of_comments_costs_no_sla_call(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request(summary="Slow reports", request_type="11")
    refresh_slas(env.runtime, [key])
    for n in range(10):
        env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": f"more logs {n}", "as": "customer1@example.com"})
    env.sync_in()
    assert refresh_slas(env.runtime, [key])["jsm_calls"] == 0
