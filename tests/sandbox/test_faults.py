"""Injected faults are deterministic for a seed: rate limits, errors, latency, webhook chaos."""

from __future__ import annotations

import time

import requests

from sandbox.faults import Faults
from sandbox.testing import running_sandbox
from tests.sandbox.conftest import basic

ADMIN = basic("admin@sandbox.local")


def statuses(url: str, n: int) -> list[int]:
    return [requests.get(f"{url}/rest/servicedeskapi/servicedesk", headers=ADMIN).status_code for _ in range(n)]


def test_rate_limit_every_n_with_retry_after(cloud):
    requests.post(f"{cloud.url}/_sandbox/faults", json={"seed": 1, "rate_limit": {"every": 3, "retry_after": 0}})
    try:
        codes = statuses(cloud.url, 6)
        assert codes == [200, 200, 429, 200, 200, 429]
        for _ in range(3):  # requests 7, 8, 9: the ninth is limited
            resp = requests.get(f"{cloud.url}/rest/api/2/myself", headers=ADMIN)
        assert resp.status_code == 429 and resp.headers["Retry-After"] == "0"
        assert resp.json()["errorMessages"]  # platform shape
        # Control endpoints are never faulted.
        assert requests.get(f"{cloud.url}/_sandbox/state?requests=0").json()["faults"]["rate_limit"]["every"] == 3
    finally:
        assert requests.post(f"{cloud.url}/_sandbox/faults", json={}).status_code == 200
    assert statuses(cloud.url, 4) == [200] * 4


def test_errors_are_deterministic_for_a_seed(cloud):
    runs = []
    for _ in range(2):
        requests.post(f"{cloud.url}/_sandbox/faults", json={"seed": 42, "error_rate": 0.3})
        runs.append(statuses(cloud.url, 30))
    requests.post(f"{cloud.url}/_sandbox/faults", json={"seed": 43, "error_rate": 0.3})
    other = statuses(cloud.url, 30)
    requests.post(f"{cloud.url}/_sandbox/faults", json={})
    assert runs[0] == runs[1] != other
    assert {c for c in runs[0]} <= {200, 500, 502, 503} and any(c >= 500 for c in runs[0])


def test_latency(cloud):
    requests.post(f"{cloud.url}/_sandbox/faults", json={"latency_ms": 150})
    started = time.perf_counter()
    statuses(cloud.url, 2)
    requests.post(f"{cloud.url}/_sandbox/faults", json={})
    assert time.perf_counter() - started >= 0.3


def test_invalid_fault_config_is_400(cloud):
    resp = requests.post(f"{cloud.url}/_sandbox/faults", json={"error_rate": 2})
    assert resp.status_code == 400 and "error_rate" in resp.json()["error"]


def test_webhook_fault_draws_repeat_for_a_seed():
    cfg = {"seed": 7, "webhooks": {"drop": 0.2, "duplicate": 0.2, "reorder": 0.2}}
    f = Faults()
    f.configure(cfg)
    first = [f.webhook() for _ in range(50)]
    f.configure(cfg)
    assert [f.webhook() for _ in range(50)] == first
    assert any(h.drop for h in first) and any(h.duplicate for h in first) and any(h.reorder for h in first)


def test_webhook_chaos_end_to_end(receiver):
    with running_sandbox(seed="demo", webhook_url=receiver.url) as sb:
        requests.post(f"{sb.url}/_sandbox/faults", json={
            "seed": 3, "webhooks": {"drop": 0.2, "duplicate": 0.3, "reorder": 0.3, "delay_ms": 20}})
        for n in range(1, 21):
            requests.post(f"{sb.url}/_sandbox/requests/SUP-{n}/priority", json={"priority": "Lowest"})
        assert requests.post(f"{sb.url}/_sandbox/webhooks/flush", json={"timeout": 10}).json()["drained"]
        log = list(sb.sandbox.sender.log)
    ids = [h["X-Atlassian-Webhook-Identifier"] for h, _ in receiver.calls]
    dropped = [d for d in log if d["status"] == "dropped"]
    assert dropped and len(set(ids)) == 20 - len(dropped)
    assert len(ids) > len(set(ids))  # duplicates keep their identifier
    keys = [b["issue"]["key"] for b in receiver.bodies()]
    first_seen = list(dict.fromkeys(keys))
    assert first_seen != sorted(first_seen, key=lambda k: int(k.split("-")[1]))  # some arrived out of order
