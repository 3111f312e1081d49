"""SQLAlchemy 2.x models: the local mirror, accounts, the webhook inbox and the action outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    case,
    false,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship
from sqlalchemy.sql.elements import Grouping

from mappings import BUCKETS


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Role(StrEnum):
    """A user's built-in role; what each one permits is `sync.permissions.BUILTIN_ROLES`."""

    CUSTOMER = "customer"
    ORG_VIEWER = "org_viewer"
    GROUP_LEAD = "group_lead"
    ORG_ADMIN = "org_admin"
    ADMIN = "admin"


ROLES = tuple(role.value for role in Role)


class InboxState(StrEnum):
    """Where a webhook delivery stands: waiting to be applied, applied, ignored on purpose, or failed."""

    PENDING = "pending"
    APPLIED = "applied"
    IGNORED = "ignored"
    FAILED = "failed"


class OutboxState(StrEnum):
    """Where a customer action stands: owed to JSM, being pushed, confirmed, or refused for good."""

    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"


def _by_value(enum: type[StrEnum]) -> Enum:
    """A VARCHAR column holding an enum's values (not its member names), with no database enum type."""
    return Enum(enum, native_enum=False, create_constraint=False, length=16,
                values_callable=lambda members: [m.value for m in members])


class Organization(Base):
    """A customer organisation; its users see its tickets and nobody else's."""

    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    jira_org_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    share_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    # When the share link stops working; None for links made before links expired.
    share_expires_at: Mapped[datetime | None]
    # Who made the current link and when. A plain id, not a foreign key: users already reference
    # organisations, and a cycle would make table creation order ambiguous; accounts are disabled,
    # never deleted, so the id keeps naming its maker.
    share_created_by_id: Mapped[int | None] = mapped_column(Integer)
    share_created_at: Mapped[datetime | None]
    # The language the link's feed, badge, JSON and card speak, and whether they show subjects.
    share_locale: Mapped[str | None] = mapped_column(String(8))
    share_with_subjects: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Reads of the current link (page, feed, badge, JSON, card); reset when a new link replaces it.
    share_access_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    share_last_access_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A portal account: a built-in role, extra roles of its own, and groups whose roles it inherits."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[Role] = mapped_column(_by_value(Role), default=Role.CUSTOMER)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    jira_account_id: Mapped[str | None] = mapped_column(String(128), index=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    theme: Mapped[str | None] = mapped_column(String(8))
    last_login_at: Mapped[datetime | None]
    # Part of every invitation and reset link's epoch: raising it voids the links sent before.
    session_generation: Mapped[int] = mapped_column(Integer, default=0)
    # TOTP second factor: the base32 secret (set when enrolment starts), when it was confirmed (on from
    # then), and the last time step accepted, so one code cannot be replayed within its 30 seconds.
    # Sealed (app.services.secret_box): a Fernet token of the base32 secret, about 140 characters.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    organization: Mapped[Organization | None] = relationship(lazy="joined")
    # Roles and groups are read on every request's permission check, so they load with the user.
    role_grants: Mapped[list[UserRole]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    groups: Mapped[list[Group]] = relationship(secondary="group_members", lazy="selectin",
                                               back_populates="members")
    # The requests JSM lists this user's account on as a participant, with their organisations: the scope
    # rule reads them to know whether the organisation scope must reach beyond the organisation
    # (`sync.scope.visible_condition`); most users have none, so this is one empty index lookup.
    participations: Mapped[list[TicketParticipant]] = relationship(
        primaryjoin="foreign(TicketParticipant.account_id) == User.jira_account_id", viewonly=True,
        lazy="selectin")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # None: until revoked

    user: Mapped[User] = relationship(lazy="joined")


class WebSession(Base):
    """A signed-in portal session, held on the server: the cookie carries only a random id (hashed here).

    Deleting the row signs the browser out; idle and absolute timeouts are checked on every request.
    """

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ip_address: Mapped[str] = mapped_column(String(64), default="")


class RecoveryCode(Base):
    """A single-use code that stands in for a TOTP code (lost phone); only its SHA-256 is stored."""

    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class Ticket(Base):
    """The local mirror of one JSM request, with its customer-facing projection."""

    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    jira_id: Mapped[str] = mapped_column(String(32), unique=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    project_key: Mapped[str] = mapped_column(String(32), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str | None] = mapped_column(Text)
    service_desk_id: Mapped[str | None] = mapped_column(String(32))
    request_type_id: Mapped[str | None] = mapped_column(String(32))
    request_type_name: Mapped[str | None] = mapped_column(String(255))
    issue_type_name: Mapped[str | None] = mapped_column(String(255))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    reporter_account_id: Mapped[str | None] = mapped_column(String(128), index=True)
    reporter_name: Mapped[str | None] = mapped_column(String(255))
    reporter_email: Mapped[str | None] = mapped_column(String(255))
    assignee_name: Mapped[str | None] = mapped_column(String(255))
    jira_status_id: Mapped[str | None] = mapped_column(String(32))
    jira_status_name: Mapped[str | None] = mapped_column(String(255))
    jira_status_category: Mapped[str | None] = mapped_column(String(32))
    jira_priority_id: Mapped[str | None] = mapped_column(String(32))
    jira_priority_name: Mapped[str | None] = mapped_column(String(64))
    customer_status: Mapped[str] = mapped_column(String(64))
    customer_priority: Mapped[str] = mapped_column(String(32))
    bucket: Mapped[str] = mapped_column(String(16))
    status_fell_back: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # JSM's `fields.updated`: the order-safety watermark of this ticket.
    jira_updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    last_synced_at: Mapped[datetime] = mapped_column(default=utcnow)

    # selectin: one extra query per page instead of an outer join, which FOR UPDATE cannot lock.
    organization: Mapped[Organization | None] = relationship(lazy="selectin")
    # JSM's "Request participants", one row each (`TicketParticipant`); written only by the inbound upsert.
    participants: Mapped[list[TicketParticipant]] = relationship(cascade="all, delete-orphan",
                                                                 passive_deletes=True)

    __table_args__ = (
        Index("ix_tickets_org_bucket_updated", "organization_id", "bucket", "jira_updated_at"),
        Index("ix_tickets_org_updated", "organization_id", "jira_updated_at"),
        Index("ix_tickets_org_created", "organization_id", "created_at"),
        # E-mail first: a requester's own requests in their organisation (both equal), and an administrator's
        # own across every organisation (migration 0016; the organisation first made that a whole-index scan).
        Index("ix_tickets_reporter_email_org", "reporter_email", "organization_id"),
    )


# Open, resolved, closed as 0, 1, 2 (anything else 3): the order every list groups tickets in. Written with
# literals, not parameters: PostgreSQL uses an index on an expression only for the very same constants.
BUCKET_RANK = case({literal_column(f"'{bucket}'"): literal_column(str(rank)) for rank, bucket in enumerate(BUCKETS)},
                   value=Ticket.__table__.c.bucket, else_=literal_column(str(len(BUCKETS))))
TICKET_TYPE = func.coalesce(Ticket.__table__.c.request_type_name, Ticket.__table__.c.issue_type_name)
LIVE_TICKET = Ticket.__table__.c.deleted.is_(False)


def _live_index(name: str, *columns: Any) -> Index:
    # Partial (live tickets only, as every list reads them), and so usable only by queries that say so.
    # An expression is parenthesised (PostgreSQL's CREATE INDEX wants it so).
    grouped = [Grouping(column) if column is BUCKET_RANK else column for column in columns]
    return Index(name, *grouped, postgresql_where=LIVE_TICKET, sqlite_where=LIVE_TICKET)


# An administrator's lists span every organisation: these let them read a page, a count, the filters'
# choices and the live fingerprint through an index instead of every row (app.portal.list_rows).
_live_index("ix_tickets_live_rank_updated", BUCKET_RANK, Ticket.__table__.c.jira_updated_at.desc(),
            Ticket.__table__.c.id.desc())
# An organisation's list in the same order, for an organisation of any size (and the first part of a
# participant's, sync.scope.visible_parts).
_live_index("ix_tickets_live_org_rank_updated", Ticket.__table__.c.organization_id, BUCKET_RANK,
            Ticket.__table__.c.jira_updated_at.desc(), Ticket.__table__.c.id.desc())
_live_index("ix_tickets_live_priority", Ticket.__table__.c.customer_priority, BUCKET_RANK, Ticket.__table__.c.id)
_live_index("ix_tickets_live_status", Ticket.__table__.c.customer_status, BUCKET_RANK, Ticket.__table__.c.id)
# Every other sort of the list, by bucket rank, the column and the id (migration 0016); the type, reporter and
# assignee ones also give the filters' choices, by a loose scan per bucket rank.
_live_index("ix_tickets_live_rank_created", BUCKET_RANK, Ticket.__table__.c.created_at, Ticket.__table__.c.id)
_live_index("ix_tickets_live_rank_resolved", BUCKET_RANK, Ticket.__table__.c.resolved_at, Ticket.__table__.c.id)
_live_index("ix_tickets_live_rank_summary", BUCKET_RANK, Ticket.__table__.c.summary, Ticket.__table__.c.id)
_live_index("ix_tickets_live_rank_key", BUCKET_RANK, Ticket.__table__.c.project_key,
            func.length(Ticket.__table__.c.key), Ticket.__table__.c.key, Ticket.__table__.c.id)
_live_index("ix_tickets_live_rank_type", BUCKET_RANK, TICKET_TYPE, Ticket.__table__.c.id)
_live_index("ix_tickets_live_rank_reporter", BUCKET_RANK, Ticket.__table__.c.reporter_name, Ticket.__table__.c.id)
_live_index("ix_tickets_live_rank_assignee", BUCKET_RANK, Ticket.__table__.c.assignee_name, Ticket.__table__.c.id)
# The sync-health snapshot and each /metrics scrape (migration 0019): live tickets per project with the newest
# update, one index-only scan in project order; and the live tickets whose status fell back, counted from
# their own few entries (a ticket that did not fall back is in no entry of it).
_live_index("ix_tickets_live_project_updated", Ticket.__table__.c.project_key, Ticket.__table__.c.jira_updated_at)
LIVE_FELL_BACK = and_(Ticket.__table__.c.status_fell_back.is_(True), LIVE_TICKET)
Index("ix_tickets_live_fell_back", Ticket.__table__.c.id, postgresql_where=LIVE_FELL_BACK, sqlite_where=LIVE_FELL_BACK)
# One organisation's types, reporters and assignees for the filters' choices, by a loose scan (migration 0020):
# the rank-led ones above hold every organisation's values, which a big customer's scan would walk past.
_live_index("ix_tickets_live_org_type", Ticket.__table__.c.organization_id, TICKET_TYPE)
_live_index("ix_tickets_live_org_reporter", Ticket.__table__.c.organization_id, Ticket.__table__.c.reporter_name)
_live_index("ix_tickets_live_org_assignee", Ticket.__table__.c.organization_id, Ticket.__table__.c.assignee_name)


class TicketParticipant(Base):
    """A JSM account JSM lists among a request's "Request participants": JSM shows them the request, so do we.

    The scope rule (`sync.scope.participated_by`) looks tickets up by account, hence the index that starts
    with `account_id` (it also holds `ticket_id`, so the lookup never reads the table).
    """

    __tablename__ = "ticket_participants"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    # The request's organisation, read with the row (no column of its own: the ticket holds it).
    ticket_organization_id: Mapped[int | None] = column_property(
        select(Ticket.organization_id).where(Ticket.id == ticket_id).correlate_except(Ticket).scalar_subquery())

    __table_args__ = (Index("ix_ticket_participants_account", "account_id", "ticket_id"),)


class Comment(Base):
    """A comment of a ticket; only `public` ones are ever shown to customers."""

    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    jira_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    author_name: Mapped[str | None] = mapped_column(String(255))
    author_account_id: Mapped[str | None] = mapped_column(String(128))
    from_support: Mapped[bool] = mapped_column(Boolean, default=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set while the comment was written by a customer here and JSM has not confirmed it yet.
    outbox_action_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_actions.id"))

    __table_args__ = (Index("ix_comments_ticket_visible", "ticket_id", "public", "deleted", "created_at"),)


class Attachment(Base):
    """A customer-visible attachment of a ticket (listed by servicedeskapi); internal ones are never stored."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    jira_id: Mapped[str] = mapped_column(String(32), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    mime_type: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime | None]
    author_name: Mapped[str | None] = mapped_column(String(255))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class StatusHistory(Base):
    """A customer-visible status change of a ticket."""

    __tablename__ = "status_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    customer_status: Mapped[str] = mapped_column(String(64))
    jira_status_name: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime]
    # The changelog entry it came from, so a redelivered event adds nothing.
    changelog_id: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        UniqueConstraint("ticket_id", "changelog_id", name="uq_history_changelog"),
        Index("ix_history_ticket_at", "ticket_id", "at"),
        Index("ix_history_at", "at"),
    )


INBOX_STATES = tuple(state.value for state in InboxState)


class InboundEvent(Base):
    """The webhook inbox: a delivery is durable here before the receiver answers 2xx."""

    __tablename__ = "inbound_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(128), unique=True)
    webhook_event: Mapped[str] = mapped_column(String(64))
    issue_key: Mapped[str | None] = mapped_column(String(64))
    project_key: Mapped[str | None] = mapped_column(String(32))
    event_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[InboxState] = mapped_column(_by_value(InboxState), default=InboxState.PENDING)
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]
    # A deferred row (its ticket not mirrored yet) waits until then before its next try.
    retry_at: Mapped[datetime | None]
    # The id the web request logged under (sync.logs): the same id marks the jobs and JSM calls it causes.
    request_id: Mapped[str | None] = mapped_column(String(64))


def _inbox_state(state: InboxState) -> ColumnElement[bool]:
    # A literal, as in the indexes' WHERE: PostgreSQL uses a partial index only for a query that says the
    # same thing, and a parameter does not.
    return InboundEvent.__table__.c.state == literal_column(f"'{state.value}'")


# The inbox rows looked for by state: pending (in order: the drain's claim, the sweeper's count), failed
# (the health page) and ignored (counted). An applied row, most of the table, is in no index of its state,
# so its outcome's update writes no entry for it (migration 0018); the applied are counted as the rest.
INBOX_PENDING = _inbox_state(InboxState.PENDING)
INBOX_FAILED = _inbox_state(InboxState.FAILED)
INBOX_IGNORED = _inbox_state(InboxState.IGNORED)
for _name, _state in (("pending", INBOX_PENDING), ("failed", INBOX_FAILED), ("ignored", INBOX_IGNORED)):
    Index(f"ix_inbound_{_name}", InboundEvent.__table__.c.id, postgresql_where=_state, sqlite_where=_state)


OUTBOX_STATES = tuple(state.value for state in OutboxState)
# Accepted here, not yet confirmed by JSM.
OUTBOX_IN_FLIGHT = (OutboxState.PENDING, OutboxState.SENDING)


class OutboxAction(Base):
    """A customer action accepted here and owed to JSM until JSM confirms it."""

    __tablename__ = "outbox_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[OutboxState] = mapped_column(_by_value(OutboxState), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    jira_response: Mapped[str | None] = mapped_column(Text)
    result_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    next_attempt_at: Mapped[datetime | None]
    # The id of the web request that accepted the action (sync.logs); its push logs under it.
    request_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_outbox_state_next", "state", "next_attempt_at"),
        Index("ix_outbox_ticket_state", "ticket_id", "state"),
    )


class MappingVersion(Base):
    """One published version of the status/priority mapping; exactly one is active."""

    __tablename__ = "mapping_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    document: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(255))
    comment: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncState(Base):
    """Small named values the sync keeps: reconcile watermarks, last event times."""

    __tablename__ = "sync_state"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# ------------------------------------------------------------------ automatic rules and SLAs
class PolicyEvent(Base):
    """An automatic rule that fired for a ticket: at most once per rule, ticket and clock start (`anchor`)."""

    __tablename__ = "policy_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    # The status-history entry the clock started from and the customer reply that restarted it, if any.
    anchor: Mapped[str] = mapped_column(String(64))
    clock_started_at: Mapped[datetime]
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    outbox_action_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_actions.id"))
    # The customer's language the comment (or reminder) was written in.
    locale: Mapped[str] = mapped_column(String(8), default="en")

    __table_args__ = (UniqueConstraint("rule", "ticket_id", "anchor", name="uq_policy_once"),
                      Index("ix_policy_events_fired", "fired_at"))


class TicketSla(Base):
    """The mirror of a request's JSM SLAs, with what they were fetched for (to know when to ask again)."""

    __tablename__ = "ticket_slas"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    # Parsed metrics (sync.policies.sla.metric_to_json), JSM's order.
    metrics: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The ticket's status, priority and first-response state at fetch time: SLAs change only with those.
    signature: Mapped[str] = mapped_column(String(128))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- administration: roles, groups, audit
class RoleDefinition(Base):
    """A role an admin defined: a named set of permissions (built-in roles live in code, not here)."""

    __tablename__ = "roles"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(255), default="")
    permissions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The "leading role" flag: its holders see their groups' open requests.
    leading: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserRole(Base):
    """A role given to a user on top of their built-in one (built-in or defined by name)."""

    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role_name: Mapped[str] = mapped_column(String(64), primary_key=True)

    definition: Mapped[RoleDefinition | None] = relationship(
        primaryjoin="foreign(UserRole.role_name) == RoleDefinition.name", viewonly=True, lazy="selectin")


class Group(Base):
    """Users of one organisation who inherit the group's roles; leads see its members' open requests."""

    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    role_grants: Mapped[list[GroupRole]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    members: Mapped[list[User]] = relationship(secondary="group_members", lazy="select", back_populates="groups")
    organization: Mapped[Organization | None] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_groups_org_name"),)


class GroupMember(Base):
    """Membership of a user in a group."""

    __tablename__ = "group_members"
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class GroupRole(Base):
    """A role every member of a group inherits."""

    __tablename__ = "group_roles"
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    role_name: Mapped[str] = mapped_column(String(64), primary_key=True)

    definition: Mapped[RoleDefinition | None] = relationship(
        primaryjoin="foreign(GroupRole.role_name) == RoleDefinition.name", viewonly=True, lazy="selectin")


class AuditEntry(Base):
    """Who changed what, when: users, roles, groups, organisations, mapping versions, retries, share links."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str | None] = mapped_column(String(255))
    # The organisation the change belongs to, so org admins can read their own organisation's entries.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"),
                                                        index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# ------------------------------------------------------------------ notifications (sync/notify)
class NotificationKind(StrEnum):
    """Why a customer is told something: a support reply, a customer-status change, or a policy reminder."""

    COMMENT = "comment"
    STATUS = "status"
    REMINDER = "reminder"


class NotificationState(StrEnum):
    """One fact for one recipient: waiting for its e-mail, folded into one, or dropped (and why)."""

    PENDING = "pending"
    MAILED = "mailed"
    SKIPPED = "skipped"


class MailState(StrEnum):
    """Where one e-mail stands. `uncertain`: the worker stopped while the server was taking it, so it is
    not sent again (a second copy is worse than asking an admin to look at the server's log)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


class EmailMode(StrEnum):
    """A user's choice: each change by e-mail, one daily digest, or nothing."""

    INSTANT = "instant"
    DAILY = "daily"
    OFF = "off"


class NotificationEvent(Base):
    """What changed, recorded in the transaction of the change itself; fanned out to recipients later."""

    __tablename__ = "notification_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(_by_value(NotificationKind))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    # The JSM account whose action caused it: never mailed to its own author.
    actor_account_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_notification_events_fanned", "fanned_out", "id"),)


class Notification(Base):
    """One event for one recipient; several of a user's become one e-mail."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("notification_events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    state: Mapped[NotificationState] = mapped_column(_by_value(NotificationState), default=NotificationState.PENDING)
    # The end of the coalescing window that this change opened.
    not_before: Mapped[datetime]
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("notification_mails.id"))
    reason: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_notification_event_user"),
        Index("ix_notifications_state_user", "state", "user_id"),
    )


class OutgoingMail(Base):
    """One e-mail, rendered once and sent with the same bytes and Message-ID on every attempt."""

    __tablename__ = "notification_mails"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(String(255), default="")
    # The whole message; emptied once sent when it holds a one-time link (invitation, reset).
    raw: Mapped[str | None] = mapped_column(Text)
    scrub_after_send: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[MailState] = mapped_column(_by_value(MailState), default=MailState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    # Set (and committed) just before the message data goes to the server: past this point a lost
    # worker may have delivered it.
    handed_over_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_notification_mails_state_next", "state", "next_attempt_at"),)


class NotificationPreference(Base):
    """A user's e-mail choice; a user without a row gets instant e-mails."""

    __tablename__ = "notification_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[EmailMode] = mapped_column(_by_value(EmailMode), default=EmailMode.INSTANT)
    # The local date (YYYY-MM-DD) of the last daily digest, so a digest goes out once a day.
    last_digest_on: Mapped[str | None] = mapped_column(String(10))
    # Org admins and viewers may opt in to the organisation's monthly report (sync/reports).
    monthly_report: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
