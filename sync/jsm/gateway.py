"""The JSM gateway: the only code that talks to Jira Service Management (Cloud or Data Center).

Site, account and servicedeskapi reads live here; issue reads and JQL search in `sync.jsm.search`,
customer actions (create, comment, transition, feedback, attachments, lookups) in `sync.jsm.actions`,
both mixed into `JsmGateway`. Everything returned is a small frozen value
(`sync.jsm.values`, or the `IssueSnapshot`/`CommentSnapshot` of `sync.jsm.snapshots`); raw dicts stop here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from sync.jsm import parse
from sync.jsm.actions import JsmActions
from sync.jsm.errors import JsmError, JsmPermanentError, JsmTransientError, from_exception, from_response
from sync.jsm.search import JsmSearch
from sync.jsm.throttle import Throttle
from sync.jsm.transport import API, SD, Transport
from sync.jsm.values import (
    Account,
    CommentSnapshot,
    JiraPriority,
    JiraStatus,
    RequestAttachment,
    RequestType,
    RequestTypeFields,
    SearchStats,
    ServerInfo,
    ServiceDesk,
    SlaMetric,
)

if TYPE_CHECKING:
    import redis

    from sync.runtime import Runtime
    from sync.settings import Settings

__all__ = ["JsmError", "JsmGateway", "JsmPermanentError", "JsmTransientError", "gateway_for"]


def _url_name(filename: str) -> str:
    # Data Center finds the file by its id; the name segment is cosmetic, and control characters in
    # it (a CR/LF or NUL some clients allow in names) make servers and proxies refuse the URL.
    return "".join(ch for ch in filename if ch.isprintable()) or "attachment"


class JsmGateway(JsmSearch, JsmActions):
    """One JSM site: typed reads and actions, paged, throttled, with bounded retries and call counts."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport
        self.cloud = transport.deployment == "cloud"
        self.last_search = SearchStats()
        self._me: Account | None = None
        self._fields: tuple[str, ...] | None = None
        self._organisation_fields: frozenset[str] | None = None
        self._participant_fields: frozenset[str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, redis: redis.Redis | None = None,
                      **transport_options: Any) -> JsmGateway:
        """A gateway for the configured site; with `redis`, the throttle is shared by every process."""
        jira = settings.jira
        token = jira.api_token.get_secret_value() if jira.api_token else ("sandbox-token" if jira.is_sandbox else "")
        email = jira.email or ("admin@sandbox.local" if jira.is_sandbox else None)
        site = jira.site_url
        rate = transport_options.pop("rate", jira.rate.per_second)
        burst = transport_options.pop("burst", jira.rate.burst)
        throttle = Throttle(hashlib.sha1(site.encode()).hexdigest()[:16], rate, burst, redis)
        return cls(Transport(site, deployment=jira.deployment, email=email, token=token, throttle=throttle,
                             **transport_options))

    # ------------------------------------------------------------------ accounting
    @property
    def calls(self) -> dict[str, int]:
        """HTTP requests sent per endpoint kind (retries included), for "JSM calls per event" metrics."""
        return dict(self.t.calls)

    def total_calls(self) -> int:
        """HTTP requests sent by this gateway so far."""
        return self.t.total_calls()

    # ------------------------------------------------------------------ site and account
    def myself(self) -> Account:
        """The authenticated account (cached: its time zone drives JQL dates)."""
        raw = self.t.get_json(f"{API}/myself", kind="myself", what="reading the API account (/myself)")
        self._me = parse.account(raw)
        return self._me

    def server_info(self) -> ServerInfo:
        """Version and deployment type of the site."""
        raw = self.t.get_json(f"{API}/serverInfo", kind="server_info", what="reading server info")
        return ServerInfo(raw.get("baseUrl"), raw.get("version"), raw.get("deploymentType"))

    def list_statuses(self) -> list[JiraStatus]:
        """Every workflow status of the site (for the admin's report of unmapped statuses)."""
        raw = self.t.get_json(f"{API}/status", kind="statuses", what="listing statuses")
        return [JiraStatus(str(s["id"]), str(s.get("name") or ""), (s.get("statusCategory") or {}).get("key"))
                for s in raw or [] if isinstance(s, dict) and "id" in s]

    def list_priorities(self) -> list[JiraPriority]:
        """Every priority of the site."""
        raw = self.t.get_json(f"{API}/priority", kind="priorities", what="listing priorities")
        return [JiraPriority(str(p["id"]), str(p.get("name") or "")) for p in raw or []
                if isinstance(p, dict) and "id" in p]

    # ------------------------------------------------------------------ servicedeskapi pages
    def _sd_pages(self, path: str, *, kind: str, what: str, limit: int = 50,
                  params: dict[str, Any] | None = None, experimental: bool = False) -> Iterator[dict[str, Any]]:
        # Loop on isLastPage, never on size < limit: servers may cap `limit` (REFERENCE b.2).
        start = 0
        while True:
            page = self.t.get_json(path, kind=kind, what=what, experimental=experimental,
                                   params={**(params or {}), "start": start, "limit": limit})
            values = page.get("values") or []
            yield from values
            if page.get("isLastPage", True) or not values:
                return
            start = int(page.get("start", start)) + len(values)

    def list_service_desks(self) -> list[ServiceDesk]:
        """Every service desk the account can see."""
        return [parse.service_desk(v) for v in
                self._sd_pages(f"{SD}/servicedesk", kind="sd.servicedesks", what="listing service desks")]

    def list_request_types(self, service_desk_id: str) -> list[RequestType]:
        """Request types of one service desk (id or project key)."""
        return [parse.request_type(v) for v in self._sd_pages(
            f"{SD}/servicedesk/{service_desk_id}/requesttype", kind="sd.request_types",
            what=f"listing request types of service desk {service_desk_id}")]

    def request_type_fields(self, service_desk_id: str, request_type_id: str) -> RequestTypeFields:
        """The fields a customer fills in for a request type."""
        raw = self.t.get_json(f"{SD}/servicedesk/{service_desk_id}/requesttype/{request_type_id}/field",
                              kind="sd.request_type_fields",
                              what=f"reading fields of request type {request_type_id}")
        return parse.request_type_fields(raw)

    def list_comments(self, issue_key: str, include_internal: bool = True) -> list[CommentSnapshot]:
        """Comments of a request, oldest first, with `public` from servicedeskapi (JSM's own flag)."""
        return [parse.sd_comment(v) for v in self._sd_pages(
            f"{SD}/request/{issue_key}/comment", kind="sd.comments", what=f"listing comments of {issue_key}",
            limit=100, params={"public": "true", "internal": "true" if include_internal else "false"})]

    def comment_visibility(self, issue_id: str, comment_id: str) -> bool:
        """Whether a comment is public (for Data Center events without `jsdPublic`); unknown → False."""
        try:
            raw = self.t.get_json(f"{SD}/request/{issue_id}/comment/{comment_id}", kind="sd.comment",
                                  what=f"reading comment {comment_id} of issue {issue_id}")
            return raw.get("public") is True
        except JsmPermanentError as exc:
            if exc.status != 404:
                raise
        # Not visible through servicedeskapi (deleted, or not a request): the comment property says.
        try:
            raw = self.t.get_json(f"{API}/comment/{comment_id}/properties/sd.public.comment",
                                  kind="comment_property", what=f"reading visibility of comment {comment_id}")
        except JsmPermanentError as exc:
            if exc.status == 404:
                return False  # never show what we could not confirm as public
            raise
        value = raw.get("value") if isinstance(raw, dict) else None
        return isinstance(value, dict) and value.get("internal") is False

    def list_request_attachments(self, issue_key: str) -> list[RequestAttachment]:
        """The attachments JSM shows the request's customers (servicedeskapi lists no internal ones)."""
        found = (parse.sd_attachment(v) for v in self._sd_pages(
            f"{SD}/request/{issue_key}/attachment", kind="sd.attachments",
            what=f"listing attachments of {issue_key}", limit=100))
        return [a for a in found if a is not None]

    def request_sla(self, issue_key: str) -> list[SlaMetric]:
        """The SLAs of a request (agents only; an empty list where the desk has none)."""
        return [parse.sla_metric(v) for v in self._sd_pages(
            f"{SD}/request/{issue_key}/sla", kind="sd.sla", what=f"reading the SLAs of {issue_key}")]

    def attachment_content(self, jira_id: str, filename: str, max_bytes: int) -> Iterator[bytes]:
        """The bytes of one attachment, streamed in chunks; raises JsmPermanentError past `max_bytes`.

        Cloud: `/rest/api/2/attachment/content/{id}` (redirects to the media store); Data Center:
        `/secure/attachment/{id}/{filename}`. Not retried: the caller is a browser download.
        """
        path = (f"{API}/attachment/content/{quote(jira_id, safe='')}" if self.cloud
                else f"secure/attachment/{quote(jira_id, safe='')}/{quote(_url_name(filename), safe='')}")
        what = f"downloading attachment {jira_id}"
        t = self.t
        t.throttle.acquire()
        with t._lock:
            t.calls["attachment_content"] += 1
        try:
            # The library's request() reads the whole body; the session (with its auth) can stream.
            response = t.platform.session.get(f"{t.site_url}/{path}", stream=True, timeout=t.timeout)
        except requests.RequestException as exc:
            raise from_exception(exc, what, t.site_url, t.timeout[1]) from exc
        if response.status_code >= 400:
            error = from_response(response, what, t.deployment)
            response.close()
            raise error
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            response.close()
            raise JsmPermanentError(f"attachment {jira_id} is larger than {max_bytes} bytes")
        return _bounded(response, max_bytes)


def _bounded(response: Any, max_bytes: int) -> Iterator[bytes]:
    # Stops (and drops the connection) once more than max_bytes arrived, whatever Content-Length said.
    sent = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            sent += len(chunk)
            if sent > max_bytes:
                raise JsmPermanentError(f"attachment larger than {max_bytes} bytes")
            yield chunk
    finally:
        response.close()


# Tunings of the per-process gateways. "inbox": few in-job retries, because a deferred inbox row is
# retried anyway; "default": the transport's full retries for reads (writes are never retried).
TUNINGS: dict[str, dict[str, Any]] = {"default": {}, "inbox": {"max_attempts": 2, "max_retry_wait": 5.0}}


def gateway_for(runtime: Runtime, tuning: str = "default") -> JsmGateway:
    """The gateway of this process for `tuning`, made once and sharing the per-site throttle through Redis.

    An unreachable Redis must not block work: the throttle then stays in this process.
    """
    gateways: dict[str, JsmGateway] = runtime.gateways
    if tuning not in gateways:
        try:
            client = runtime.redis
        except Exception:
            client = None
        gateways[tuning] = JsmGateway.from_settings(runtime.settings, redis=client, **TUNINGS[tuning])
    return gateways[tuning]
