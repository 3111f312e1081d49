"""Issue reads of the JSM gateway (mixed into `JsmGateway`): the site's field ids, one issue, JQL search.

Cloud pages its search by `nextPageToken` (`search/jql`), Data Center by `startAt`/`total`; JQL dates
are written in the searching account's time zone. Everything returned is an `IssueSnapshot`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.jsm import parse
from sync.jsm.errors import JsmPermanentError
from sync.jsm.snapshots import IssueSnapshot, Organisation
from sync.jsm.transport import API
from sync.jsm.values import Account, SearchPage, SearchStats

if TYPE_CHECKING:
    from sync.jsm.transport import Transport

# What the mirror reads of an issue; a short list keeps search pages small (enhanced search returns
# only `id` unless asked). The JSM custom fields are added once their per-site ids are known.
BASE_FIELDS = ("summary", "description", "status", "priority", "issuetype", "project", "created", "updated",
               "resolutiondate", "reporter", "assignee", "comment", "attachment")
_SD_FIELD_TYPES = (":sd-customerrequesttype", ":sd-customer-organizations", ":sd-request-participants")
# JQL dates are read in the searching user's time zone. Unknown zone: widen by the largest offset
# west of UTC (UTC-12) plus DST, so the bound is early enough wherever the site is.
UNKNOWN_ZONE_MARGIN = timedelta(hours=14)



class JsmSearch:
    """Issue reads and search; `self.t` is the gateway's Transport, `myself()` its account."""

    t: Transport
    cloud: bool
    last_search: SearchStats
    _me: Account | None
    _fields: tuple[str, ...] | None
    _organisation_fields: frozenset[str] | None
    _participant_fields: frozenset[str] | None

    def myself(self) -> Account:  # pragma: no cover - provided by JsmGateway
        raise NotImplementedError

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
