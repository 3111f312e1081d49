"""Failure translation, retries and throttling, against the stand-in's injected faults over HTTP."""

from __future__ import annotations

import time

import pytest

from sync.jsm.auth_answers import last_auth_failure
from sync.jsm.errors import JsmPermanentError, JsmTransientError
from sync.jsm.throttle import Throttle
from tests.gateway.conftest import api_requests, make_gateway, set_faults


def test_bad_credentials_name_the_settings(site):
    gw = make_gateway(site, token="wrong-token")
    with pytest.raises(JsmPermanentError) as caught:
        gw.myself()
    assert caught.value.status == 401
    hint = "jira.email and jira.api_token" if site.sandbox.cloud else "jira.api_token"
    assert "rejected the credentials (401)" in str(caught.value) and hint in str(caught.value)
    assert gw.total_calls() == 1  # never retried


def test_permanent_errors_carry_jsm_messages(site, gateway):
    with pytest.raises(JsmPermanentError) as not_found:
        gateway.request_type_fields("1", "99999")
    assert not_found.value.status == 404 and "The request type does not exist." in str(not_found.value)
    with pytest.raises(JsmPermanentError) as bad:
        gateway.create_request("1", "11", {"description": "no summary"})
    assert bad.value.status == 400 and "Summary is required." in bad.value.messages
    with pytest.raises(JsmPermanentError) as jql:
        list(gateway.search_pages('project = "NOPE"'))
    assert jql.value.status == 400 and "does not exist for the field 'project'" in str(jql.value)


def test_forbidden_is_permanent(site):
    if not site.sandbox.cloud:
        pytest.skip("Data Center: the only credential is the PAT, which acts as its owner (an agent); "
                    "no customer account can be used to provoke a 403 there")
    with site.state.lock:
        customer = next(a for a in site.state.accounts.values() if a.kind == "customer")
    gw = make_gateway(site, email=customer.email)
    with pytest.raises(JsmPermanentError) as caught:
        gw.create_request("1", "11", {"summary": "on behalf"}, raise_on_behalf_of=site.email)
    assert caught.value.status == 403 and "permission" in str(caught.value)


@pytest.mark.parametrize("retry_after", [0, 1])
def test_429_on_get_is_retried_after_retry_after(site, gateway, retry_after):
    set_faults(site, {"rate_limit": {"every": 2, "retry_after": retry_after}})
    gateway.myself()  # request 1 passes
    started = time.monotonic()
    assert gateway.server_info().deployment_type  # request 2 gets 429, request 3 passes
    assert time.monotonic() - started >= retry_after
    assert api_requests(site) == 3 and gateway.t.retries == 1


def test_429_on_post_is_surfaced_not_retried(site, gateway):
    set_faults(site, {"rate_limit": {"every": 1, "retry_after": 0}})
    before = len(site.state.requests)
    with pytest.raises(JsmTransientError) as caught:
        gateway.create_request("1", "11", {"summary": "must not be duplicated"})
    assert caught.value.status == 429 and caught.value.retry_after == 0
    assert api_requests(site) == 1 and len(site.state.requests) == before


def test_5xx_on_get_backs_off_then_gives_up(site, gateway):
    set_faults(site, {"error_rate": 1.0})
    with pytest.raises(JsmTransientError) as caught:
        gateway.list_service_desks()
    assert caught.value.status in (500, 502, 503) and "will be retried" in str(caught.value)
    assert api_requests(site) == gateway.t.max_attempts == 4


def test_5xx_on_post_is_sent_once(site, gateway):
    set_faults(site, {"error_rate": 1.0})
    with pytest.raises(JsmTransientError):
        gateway.add_comment("SUP-1", "once only")
    assert api_requests(site) == 1


def test_long_retry_after_is_left_to_the_caller(site):
    gw = make_gateway(site, max_retry_wait=2)
    set_faults(site, {"rate_limit": {"every": 1, "retry_after": 60}})
    with pytest.raises(JsmTransientError) as caught:
        gw.myself()
    assert caught.value.retry_after == 60 and api_requests(site) == 1


def test_timeout_is_transient(site):
    gw = make_gateway(site, read_timeout=0.3, max_attempts=2)
    set_faults(site, {"latency_ms": 800})
    with pytest.raises(JsmTransientError) as caught:
        gw.myself()
    assert "timeout" in str(caught.value) and gw.total_calls() == 2
    # A POST that timed out may have been applied by JSM: surfaced, sent once.
    before = gw.total_calls()
    with pytest.raises(JsmTransientError):
        gw.add_comment("SUP-2", "slow")
    assert gw.total_calls() == before + 1


def test_connection_refused_is_transient():
    from sync.jsm.gateway import JsmGateway
    from sync.jsm.transport import Transport

    gw = JsmGateway(Transport("http://127.0.0.1:9", deployment="cloud", email="a@b.c", token="t",
                              throttle=Throttle("refused"), max_attempts=1))
    with pytest.raises(JsmTransientError) as caught:
        gw.myself()
    assert "could not connect to JSM at http://127.0.0.1:9" in str(caught.value)


def test_throttle_limits_rate_in_process():
    bucket = Throttle("local", rate=20, burst=2)
    started = time.monotonic()
    for _ in range(12):
        bucket.acquire()
    assert time.monotonic() - started >= 0.45  # 2 free, then 10 at 20/s


def test_throttle_is_shared_through_redis(redis_client):
    a = Throttle("shared", rate=20, burst=1, redis_client=redis_client)
    b = Throttle("shared", rate=20, burst=1, redis_client=redis_client)
    started = time.monotonic()
    for _ in range(6):
        a.acquire()
        b.acquire()
    assert time.monotonic() - started >= 0.5  # 12 calls, 1 free, 11 at 20/s shared by both
    b.pause(0.3)
    started = time.monotonic()
    a.acquire()
    assert time.monotonic() - started >= 0.25


def test_429_pauses_the_shared_throttle(site, redis_client):
    throttle = Throttle("site-429", rate=1000, burst=1000, redis_client=redis_client)
    gw = make_gateway(site, throttle=throttle)
    other = Throttle("site-429", rate=1000, burst=1000, redis_client=redis_client)
    set_faults(site, {"rate_limit": {"every": 1, "retry_after": 1}})
    with pytest.raises(JsmTransientError):
        gw.add_comment("SUP-3", "hold back")
    started = time.monotonic()
    other.acquire()  # another process of the same site waits out the Retry-After
    assert time.monotonic() - started >= 0.8


def test_a_401_is_recorded_for_sync_health_until_jsm_answers_again(site, redis_client):
    shared = Throttle("auth-test", rate=1000, burst=1000, redis_client=redis_client)
    with pytest.raises(JsmPermanentError):
        make_gateway(site, token="wrong-token", throttle=shared).myself()
    failure = last_auth_failure(redis_client)
    assert failure is not None and failure["status"] == 401 and failure["what"]
    # Another process (a fresh gateway with the right token) clears it with its first successful call.
    make_gateway(site, throttle=Throttle("auth-test", rate=1000, burst=1000, redis_client=redis_client)).myself()
    assert last_auth_failure(redis_client) is None
