"""The JSM gateway: the only code that talks to Jira Service Management (Cloud or Data Center).

Reads live here; customer actions (create, comment, transition, feedback, attachments, lookups)
live in `sync.jsm.actions`, mixed into `JsmGateway`. Everything returned is a small frozen value
(`sync.jsm.values`, or the `IssueSnapshot`/`CommentSnapshot` of `sync.jsm.events`); raw dicts stop here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from sync.jsm import parse
from sync.jsm.actions import JsmActions
from sync.jsm.errors import JsmError, JsmPermanentError, JsmTransientError, from_exception, from_response
from sync.jsm.events import IssueSnapshot, Organisation
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
    SearchPage,
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

# What the mirror reads of an issue; a short list keeps search pages small (enhanced search returns
# only `id` unless asked). The JSM custom fields are added once their per-site ids are known.
BASE_FIELDS = ("summary", "description", "status", "priority", "issuetype", "project", "created", "updated",
               "resolutiondate", "reporter", "assignee", "comment", "attachment")
_SD_FIELD_TYPES = (":sd-customerrequesttype", ":sd-customer-organizations", ":sd-request-participants")
# JQL dates are read in the searching user's time zone. Unknown zone: widen by the largest offset
# west of UTC (UTC-12) plus DST, so the bound is early enough wherever the site is.
UNKNOWN_ZONE_MARGIN = timedelta(hours=14)


def _url_name(filename: str) -> str:
    # Data Center finds the file by its id; the name segment is cosmetic, and control characters in
    # it (a CR/LF or NUL some clients allow in names) make servers and proxies refuse the URL.
    return "".join(ch for ch in filename if ch.isprintable()) or "attachment"


class JsmGateway(JsmActions):
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

    # ------------------------------------------------------------------ issues and search
    def issue_fields(self) -> tuple[str, ...]:
        """BASE_FIELDS plus this site's Customer Request Type, Organizations and Request participants field ids."""
        if self._fields is None:
            raw = self.t.get_json(f"{API}/field", kind="fields", what="listing fields")
            custom = {str(f["id"]): str((f.get("schema") or {}).get("custom") or "")
                      for f in raw or [] if isinstance(f, dict) and "id" in f}
            self._fields = BASE_FIELDS + tuple(sorted(i for i, kind in custom.items()
                                                      if kind.endswith(_SD_FIELD_TYPES)))
            self._organisation_fields = frozenset(
                i for i, kind in custom.items() if kind.endswith(":sd-customer-organizations"))
            self._participant_fields = frozenset(
                i for i, kind in custom.items() if kind.endswith(":sd-request-participants"))
        return self._fields

    def organisations_field_ids(self) -> frozenset[str]:
        """This site's Organizations custom field id(s), from the same field listing as issue_fields."""
        self.issue_fields()
        return self._organisation_fields or frozenset()

    def participants_field_ids(self) -> frozenset[str]:
        """This site's Request participants custom field id(s), from the same field listing as issue_fields."""
        self.issue_fields()
        return self._participant_fields or frozenset()

    def get_issue(self, key_or_id: str) -> IssueSnapshot | None:
        """One issue, or None when JSM says it does not exist (or is not visible)."""
        try:
            raw = self.t.get_json(f"{API}/issue/{key_or_id}", kind="issue", what=f"reading issue {key_or_id}",
                                  params={"fields": ",".join(self.issue_fields())})
        except JsmPermanentError as exc:
            if exc.status == 404:
                return None
            raise
        return parse.search_hit(raw, self.organisations_field_ids(), self.participants_field_ids()).issue

    def request_organisations(self, issue_key: str) -> tuple[Organisation, ...]:
        """The JSM organisations a request is shared with."""
        issue = self.get_issue(issue_key)
        return issue.organisations if issue else ()

    def jql_time(self, instant: datetime) -> str:
        """A JQL date literal (minute resolution) that is at or before `instant` in the user's zone."""
        if self._me is None:
            self.myself()
        zone_name = self._me.time_zone if self._me else None
        try:
            local = instant.astimezone(ZoneInfo(zone_name)) if zone_name else None
        except (ZoneInfoNotFoundError, ValueError):
            local = None
        if local is None:
            local = instant.astimezone(UTC) - UNKNOWN_ZONE_MARGIN
        return local.strftime("%Y-%m-%d %H:%M")  # strftime drops seconds: flooring keeps the bound early

    def build_jql(self, projects: list[str], updated_since: datetime | None) -> str:
        """`project in (...) [AND updated >= "..."] ORDER BY updated ASC, key ASC`."""
        if not projects:
            raise ValueError("a search needs at least one project (Cloud rejects unbounded JQL)")
        quoted = ", ".join(f'"{p}"' for p in projects)
        jql = f"project in ({quoted})"
        if updated_since is not None:
            jql += f' AND updated >= "{self.jql_time(updated_since)}"'
        return jql + " ORDER BY updated ASC, key ASC"

    def search_pages(self, jql: str, page_size: int = 100) -> Iterator[SearchPage]:
        """Pages of a JQL search: Cloud `search/jql` by nextPageToken, DC `search` by startAt/total."""
        fields = ",".join(self.issue_fields())
        org_fields, participant_fields = self.organisations_field_ids(), self.participants_field_ids()
        self.last_search = stats = SearchStats()
        token: str | None = None
        start = 0
        while True:
            params: dict[str, Any] = {"jql": jql, "maxResults": page_size, "fields": fields}
            if self.cloud:
                if token:
                    params["nextPageToken"] = token
                raw = self.t.get_json(f"{API}/search/jql", kind="search", what="searching issues", params=params)
                issues = raw.get("issues") or []
                token = raw.get("nextPageToken")
                is_last = bool(raw.get("isLast", True)) or not token
                total = None
            else:
                params["startAt"] = start
                raw = self.t.get_json(f"{API}/search", kind="search", what="searching issues", params=params)
                issues = raw.get("issues") or []
                total = raw.get("total") if isinstance(raw.get("total"), int) else None
                start += len(issues)
                is_last = not issues or (total is not None and start >= total)
            stats.pages += 1
            stats.issues += len(issues)
            stats.total = total
            hits = tuple(parse.search_hit(i, org_fields, participant_fields) for i in issues)
            yield SearchPage(hits, stats.pages, total, is_last)
            if is_last:
                return

    def search_issues(self, projects: list[str], updated_since: datetime | None = None,
                      page_size: int = 100) -> Iterator[IssueSnapshot]:
        """Issues of `projects` updated since a time (all when None), oldest update first."""
        for page in self.search_pages(self.build_jql(projects, updated_since), page_size):
            for hit in page.hits:
                yield hit.issue


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
