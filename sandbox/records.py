"""Mutable records held by the stand-in's in-memory state."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Account:
    """A Jira account: customer, agent or admin (the API caller)."""

    account_id: str
    email: str
    display_name: str
    kind: str  # "customer" | "agent" | "admin"
    name: str  # the DC username
    org_ids: list[str] = field(default_factory=list)
    time_zone: str = "Etc/UTC"

    @property
    def is_agent(self) -> bool:
        """Agents and admins see everything and may do agent things."""
        return self.kind in ("agent", "admin")


@dataclass(slots=True)
class Organization:
    """A JSM customer organisation."""

    id: str
    name: str
    created_ms: int
    desk_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Comment:
    """A comment on a request; `public` False means internal (agents only)."""

    id: int
    issue_id: int
    body: str
    public: bool
    author: Account
    created_ms: int
    updated_ms: int
    update_author: Account | None = None
    # Platform comment properties; JSM keeps visibility in `sd.public.comment`.
    properties: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class Attachment:
    """A file attached to a request."""

    id: int
    filename: str
    mime_type: str
    size: int
    author: Account
    created_ms: int
    content: bytes = b""
    # False for an agent's internal attachment: servicedeskapi does not list it to customers.
    public: bool = True


@dataclass(slots=True)
class Request:
    """A customer request (a Jira issue in a service desk project)."""

    id: int
    key: str
    number: int
    desk_id: str
    request_type_id: str
    summary: str
    description: str
    reporter: Account
    priority_id: str
    status_id: str
    created_ms: int
    updated_ms: int
    status_changed_ms: int
    resolution_id: str | None = None
    resolved_ms: int | None = None
    assignee: Account | None = None
    custom: dict[str, str] = field(default_factory=dict)  # field id -> option id or text
    org_ids: list[str] = field(default_factory=list)
    participants: list[Account] = field(default_factory=list)
    history: list[tuple[str, int]] = field(default_factory=list)  # (status id, epoch ms), oldest first
    comments: list[Comment] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    feedback: dict | None = None
    first_response_ms: int | None = None
