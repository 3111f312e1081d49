"""Small normalised values the JSM gateway returns (issues and comments reuse sync.jsm.snapshots)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sync.jsm.snapshots import CommentSnapshot, IssueSnapshot, Person


@dataclass(frozen=True)
class Account:
    """The authenticated account (`/myself`)."""

    account_id: str | None
    name: str | None
    email: str | None
    time_zone: str | None


@dataclass(frozen=True)
class ServerInfo:
    base_url: str | None
    version: str | None
    deployment_type: str | None  # "Cloud" or "Server" (Data Center reports "Server" too)


@dataclass(frozen=True)
class JiraStatus:
    """A workflow status of the site (`GET /rest/api/2/status`)."""

    id: str
    name: str
    category: str | None


@dataclass(frozen=True)
class JiraPriority:
    """A priority of the site (`GET /rest/api/2/priority`)."""

    id: str
    name: str


@dataclass(frozen=True)
class ServiceDesk:
    id: str
    project_id: str | None
    project_key: str
    project_name: str | None


@dataclass(frozen=True)
class RequestType:
    id: str
    name: str
    description: str
    service_desk_id: str | None
    issue_type_id: str | None
    group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestTypeField:
    field_id: str
    name: str
    required: bool
    description: str = ""
    type: str | None = None
    valid_values: tuple[tuple[str, str], ...] = ()  # (value, label)


@dataclass(frozen=True)
class RequestTypeFields:
    fields: tuple[RequestTypeField, ...]
    can_raise_on_behalf_of: bool = False
    can_add_request_participants: bool = False


@dataclass(frozen=True)
class OrganisationRef:
    id: str
    name: str


@dataclass(frozen=True)
class CreatedRequest:
    """What JSM answered to a create: enough to link the local ticket."""

    issue_id: str
    issue_key: str
    service_desk_id: str | None
    request_type_id: str | None
    status: str | None
    created_ms: int | None


@dataclass(frozen=True)
class Transition:
    id: str
    name: str


@dataclass(frozen=True)
class TemporaryAttachment:
    temporary_attachment_id: str
    file_name: str


@dataclass(frozen=True)
class SearchHit:
    """One issue of a search page and the comments the search embedded (possibly truncated)."""

    issue: IssueSnapshot
    comments: tuple[CommentSnapshot, ...] = ()
    comments_complete: bool = True
    # Ids of `fields.attachment` (internal ones included); None when the search did not return the field.
    attachment_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RequestAttachment:
    """A customer-visible attachment as servicedeskapi lists it (`AttachmentDTO`, id from its links)."""

    jira_id: str
    filename: str
    size: int
    mime_type: str | None
    created_ms: int | None
    author_name: str | None


@dataclass(frozen=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    number: int  # 1-based
    total: int | None  # Data Center's `total`; Cloud's enhanced search has none
    is_last: bool


@dataclass
class SearchStats:
    """Progress of the current or last search of a gateway."""

    pages: int = 0
    issues: int = 0
    total: int | None = None
    extra: dict[str, int] = field(default_factory=dict)


__all__ = ["Account", "CommentSnapshot", "CreatedRequest", "IssueSnapshot", "OrganisationRef", "Person",
           "RequestType", "RequestTypeField", "RequestTypeFields", "SearchHit", "SearchPage", "SearchStats",
           "ServerInfo", "ServiceDesk", "TemporaryAttachment", "Transition"]


@dataclass(frozen=True)
class SlaCycle:
    """One cycle of a JSM SLA (`completedCycles[]` or `ongoingCycle`); durations in milliseconds."""

    start: datetime | None
    stop: datetime | None
    breach: datetime | None
    breached: bool
    paused: bool
    goal_ms: int | None
    elapsed_ms: int | None
    remaining_ms: int | None


@dataclass(frozen=True)
class SlaMetric:
    """One SLA of a request (`SlaInformationDTO`): its name, finished cycles and the running one."""

    id: str | None
    name: str
    completed: tuple[SlaCycle, ...]
    ongoing: SlaCycle | None
