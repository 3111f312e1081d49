"""Fixtures: a stand-in JSM served over real HTTP (Cloud and Data Center) and gateways pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from sandbox.testing import RunningSandbox, running_sandbox
from sync.jsm.gateway import JsmGateway
from sync.jsm.throttle import Throttle
from sync.jsm.transport import Transport


@pytest.fixture(scope="module", params=["cloud", "datacenter"])
def site(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    """A demo-seeded stand-in per deployment; faults are cleared around every test."""
    with running_sandbox(seed="demo", deployment=request.param) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _no_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    if "site" not in request.fixturenames:
        yield
        return
    sb = request.getfixturevalue("site")
    set_faults(sb, {})
    yield
    set_faults(sb, {})


def set_faults(sb: RunningSandbox, faults: dict[str, Any]) -> None:
    """Configure the stand-in's faults over HTTP, as an operator would."""
    requests.post(f"{sb.url}/_sandbox/faults", json=faults, timeout=5).raise_for_status()


def api_requests(sb: RunningSandbox) -> int:
    """API requests the stand-in has seen since its faults were last configured."""
    return sb.sandbox.faults._count


def make_gateway(sb: RunningSandbox, *, email: str | None = None, token: str | None = None,
                 **options: Any) -> JsmGateway:
    """A gateway for the stand-in; a generous local throttle unless a test passes its own."""
    throttle = options.pop("throttle", None) or Throttle("test", rate=1000, burst=1000)
    options.setdefault("backoff_base", 0.01)
    transport = Transport(sb.url, deployment=sb.sandbox.deployment, email=email or sb.email,
                          token=token or sb.token, throttle=throttle, **options)
    return JsmGateway(transport)


@pytest.fixture
def gateway(site: RunningSandbox) -> JsmGateway:
    return make_gateway(site)


@pytest.fixture
def control(site: RunningSandbox) -> Callable[..., Any]:
    """POST/DELETE a `/_sandbox/...` control endpoint and return its JSON."""
    def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        resp = requests.request(method, f"{site.url}/_sandbox{path}", json=body or {}, timeout=10)
        resp.raise_for_status()
        return resp.json() if resp.content else None
    return call
