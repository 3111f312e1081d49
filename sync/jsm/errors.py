"""The two kinds of JSM failure callers act on, and the translation of HTTP outcomes into them.

Transient (retry later: timeouts, connection errors, 429, 5xx) versus permanent (fix something:
4xx). Messages name what to check, because they end up in the outbox, the CLI and admin pages.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import requests


class JsmError(Exception):
    """Any failure talking to JSM."""

    def __init__(self, message: str, *, status: int | None = None, messages: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.messages = messages


class JsmTransientError(JsmError):
    """JSM could not answer now (timeout, connection, 429, 5xx); the same call may succeed later."""

    def __init__(self, message: str, *, status: int | None = None, messages: tuple[str, ...] = (),
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status, messages=messages)
        self.retry_after = retry_after


class JsmPermanentError(JsmError):
    """JSM refused the call (4xx); repeating it unchanged will fail again."""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def jsm_messages(response: requests.Response) -> tuple[str, ...]:
    """JSM's own error texts from either body shape (servicedeskapi `errorMessage`, platform
    `errorMessages` + `errors`, gateway `message`), read directly so the library's
    `ServiceDesk.raise_for_status` UnboundLocalError trap (REFERENCE c.5) never matters."""
    try:
        body: Any = response.json()
    except ValueError:
        text = (response.text or "").strip()
        return (text[:200],) if text and not text.lstrip().startswith("<") else ()
    if not isinstance(body, dict):
        return ()
    found: list[str] = []
    if isinstance(body.get("errorMessage"), str) and body["errorMessage"]:
        found.append(body["errorMessage"])
    for item in body.get("errorMessages") or []:
        if isinstance(item, str) and item:
            found.append(item)
    errors = body.get("errors")
    if isinstance(errors, dict):
        found.extend(f"{field}: {msg}" for field, msg in errors.items() if msg)
    if isinstance(body.get("message"), str) and body["message"] and not found:
        found.append(body["message"])
    return tuple(found)


def _auth_hint(deployment: str) -> str:
    if deployment == "datacenter":
        return "check jira.api_token (a Data Center personal access token, sent as Bearer)"
    return "check jira.email and jira.api_token (an Atlassian API token for that e-mail)"


def from_response(response: requests.Response, what: str, deployment: str) -> JsmError:
    """The JsmError for a >= 400 response to the call described by `what`."""
    status = response.status_code
    messages = jsm_messages(response)
    said = f": {'; '.join(messages)}" if messages else ""
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        when = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return JsmTransientError(f"JSM is rate limiting this site (429) on {what}{when}", status=status,
                                 messages=messages, retry_after=retry_after)
    if status >= 500 or status in (408, 425):
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return JsmTransientError(f"JSM failed on {what} ({status}){said}; it will be retried", status=status,
                                 messages=messages, retry_after=retry_after)
    if status == 401:
        text = f"JSM rejected the credentials (401) on {what}: {_auth_hint(deployment)}"
    elif status == 403:
        text = f"JSM refused {what} (403): the account lacks a permission for it{said}"
    elif status == 404:
        text = f"JSM has no such resource for {what} (404){said}"
    elif status == 410:
        text = (f"JSM no longer offers the API used for {what} (410){said}; "
                "check jira.deployment (cloud or datacenter)")
    elif status == 412:
        text = f"JSM wants the experimental-API opt-in header for {what} (412){said}"
    else:
        text = f"JSM rejected {what} ({status}){said}"
    return JsmPermanentError(text, status=status, messages=messages)


def from_exception(exc: requests.RequestException, what: str, site_url: str, timeout: float) -> JsmError:
    """The JsmError for a transport failure (no HTTP answer)."""
    if isinstance(exc, requests.Timeout):
        return JsmTransientError(f"JSM did not answer {what} within {timeout:g} s (timeout) at {site_url}")
    if isinstance(exc, requests.ConnectionError):
        return JsmTransientError(f"could not connect to JSM at {site_url} for {what}: check jira.base_url "
                                 f"and the network ({type(exc).__name__})")
    return JsmPermanentError(f"could not send {what} to JSM at {site_url}: {exc}")
