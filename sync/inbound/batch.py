"""What one inbox batch reads once, so applying its events needs (almost) no per-event query.

`drain_inbox` applies up to BATCH_SIZE events in one transaction. Profiling showed the per-event
reads dominated the apply (the ticket's row lock, the outbox echo check, the reporter's and the
comment author's portal accounts, the organisation): `BatchCache.load` reads them for the whole
batch in a few IN-queries, and `sync.inbound.upsert` then looks them up here (passing `batch=`).
The tickets and comments are plain rows (`sync.inbound.rows`) the apply changes in memory; `settle`
writes the changed ones as sets (`sync.inbound.write`), before a query that must see them and at the end.

Why a snapshot taken at the start of the batch is enough:
- tickets and comments are locked (FOR UPDATE, ordered by id so concurrent drains cannot deadlock
  on them) and every write of the batch goes through the cached rows, so the cache stays current;
- an echo (of a transition or of a portal comment) can only exist in the inbox after our push was
  claimed and committed (`outbound_push._claim` commits `jsm_actor` before calling JSM), so any
  outbox action or pending local comment an event of this batch echoes is committed before the
  inbox rows were read, hence visible to the reads below (same transaction, later statements).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from sync.inbound.echo import ECHO_WINDOW, TRANSITIONS
from sync.inbound.rows import COMMENT_READ, TICKET_READ, CommentRow, HistoryRow, TicketRow, comment_row, ticket_row
from sync.inbound.sql import one_of
from sync.inbound.write import COMMENTS, PARTICIPANTS, TICKETS, write_comments, write_history, write_tickets
from sync.jsm.events import CommentEvent, Event, IssueEvent
from sync.jsm.snapshots import CommentSnapshot, IssueSnapshot
from sync.models import OUTBOX_IN_FLIGHT, Comment, Organization, OutboxAction, Ticket, TicketParticipant, User, utcnow

# One transaction-level advisory lock ("JSMC") for the drains that may insert tickets or comments.
CREATION_LOCK = 0x4A534D43


def _serialise_creations(session: Session, issue_ids: set[str], comment_ids: set[str]) -> None:
    """Take the creation lock, before any row lock, when this batch may insert a ticket or a comment.

    Two drains inserting the same new ticket wait on each other's uncommitted index entry, and with
    several such tickets in both batches they deadlock (seen at 200 events/s with 2 workers: both
    batches then fell back to row by row). Inserting drains take turns instead; the rest never wait
    for this lock, and taking it before the row locks keeps the lock order acyclic.
    """
    def missing(model: type[Ticket] | type[Comment], ids: set[str]) -> ColumnElement[bool]:
        return select(func.count()).select_from(model).where(
            one_of(session, model.jira_id, ids)).scalar_subquery() < len(ids)

    if not issue_ids and not comment_ids:
        return
    # One round trip: the lock is taken only when a count falls short (the WHERE is a one-time filter
    # PostgreSQL evaluates before the select list). A batch's reads cost round trips more than work.
    short = [missing(model, ids) for model, ids in ((Ticket, issue_ids), (Comment, comment_ids)) if ids]
    session.connection().execute(select(func.pg_advisory_xact_lock(CREATION_LOCK)).where(or_(*short)))


@dataclass
class BatchCache:
    """Per-batch lookups: tickets and comments by JSM id, portal accounts, organisations, echo candidates."""

    tickets: dict[str, TicketRow] = field(default_factory=dict)
    # Rows of JSM comments; an ORM `Comment` where a pending portal comment was linked (the ORM writes it).
    comments: dict[str, CommentRow | Comment] = field(default_factory=dict)
    # Accounts asked about, and those linked to a portal user ("is this author a customer?").
    asked_accounts: set[str] = field(default_factory=set)
    portal_accounts: set[str] = field(default_factory=set)
    # Reporter account id / lower-cased email -> the organisation id of a portal user with it.
    org_by_account: dict[str, int] = field(default_factory=dict)
    org_by_email: dict[str, int] = field(default_factory=dict)
    asked_reporters: set[str] = field(default_factory=set)
    # JSM organisation id -> local organisation id (only those an admin linked or a batch created).
    org_by_jira: dict[str, int] = field(default_factory=dict)
    # Ticket JSM id -> our JSM accounts that performed a transition in flight or within ECHO_WINDOW.
    echo_actors: dict[str, set[str]] = field(default_factory=dict)
    # Ticket ids with a local comment still waiting for its JSM id (an echo may link it).
    pending_local: set[int] = field(default_factory=set)
    # History entries to add when the batch settles (a new ticket's need its id first), by ticket.
    history: dict[int, list[HistoryRow]] = field(default_factory=dict)

    def add_history(self, entry: HistoryRow) -> None:
        """Add a history entry at `settle`, unless this batch holds the same change already."""
        held = self.history.setdefault(id(entry.ticket), [])
        if not any(h.same_change(entry.customer_status, entry.at, entry.changelog_id) for h in held):
            held.append(entry)

    def settle(self, session: Session) -> None:
        """Write what the batch changed so far: before a query that must see it, and at the end."""
        session.flush()  # the ORM's part first (a linked comment, an organisation, facts, inbox rows)
        write_tickets(session, self.tickets.values())
        write_comments(session, [c for c in self.comments.values() if isinstance(c, CommentRow)])
        write_history(session, [entry for held in self.history.values() for entry in held])
        self.history.clear()

    @classmethod
    def load(cls, session: Session, events: Iterable[Event]) -> BatchCache:
        """Read everything the batch's events need, in at most seven queries (fewer when they need less)."""
        issue_ids: set[str] = set()
        comment_ids: set[str] = set()
        authors: set[str] = set()
        reporters: set[str] = set()
        emails: set[str] = set()
        jira_orgs: set[str] = set()
        participants = echo = False
        for event in events:
            comment = None
            if isinstance(event, IssueEvent):
                issue = event.issue
                issue_ids.add(issue.jira_id)
                comment = event.comment
                participants = participants or issue.participants_known
                echo = echo or (event.kind == "updated" and event.actor is not None)
                if issue.reporter and issue.reporter.account_id:
                    reporters.add(issue.reporter.account_id)
                if issue.reporter and issue.reporter.email:
                    emails.add(issue.reporter.email.lower())
                jira_orgs.update(o.jira_id for o in issue.organisations)
            elif isinstance(event, CommentEvent):
                issue_ids.add(event.issue_jira_id)
                comment = event.comment
            if comment is not None:
                comment_ids.add(comment.jira_id)
                if comment.author and comment.author.account_id:
                    authors.add(comment.author.account_id)
        return cls._read(session, issue_ids, comment_ids, authors, reporters, emails, jira_orgs,
                         participants=participants, echo=echo)

    @classmethod
    def for_snapshots(cls, session: Session, issues: Iterable[IssueSnapshot],
                      comments: Iterable[CommentSnapshot]) -> BatchCache:
        """The same reads for a reconcile page: its issues and the comments it may write (or hide)."""
        issues, comments = list(issues), list(comments)
        reporters = {i.reporter.account_id for i in issues if i.reporter and i.reporter.account_id}
        emails = {i.reporter.email.lower() for i in issues if i.reporter and i.reporter.email}
        authors = {c.author.account_id for c in comments if c.author and c.author.account_id}
        return cls._read(session, {i.jira_id for i in issues}, {c.jira_id for c in comments}, authors, reporters,
                         emails, {o.jira_id for i in issues for o in i.organisations},
                         participants=any(i.participants_known for i in issues), echo=False)

    @classmethod
    def _read(cls, session: Session, issue_ids: set[str], comment_ids: set[str], authors: set[str],
              reporters: set[str], emails: set[str], jira_orgs: set[str], *, participants: bool,
              echo: bool) -> BatchCache:
        """The reads; `participants`/`echo`: whether any event lists participants / may echo our transition."""
        cache = cls()
        with session.no_autoflush:
            if session.get_bind().dialect.name == "postgresql":
                _serialise_creations(session, issue_ids, comment_ids)
            cache._load_rows(session, issue_ids, comment_ids, participants=participants, echo=echo)
            cache._load_accounts(session, authors | reporters, emails)
            cache.asked_reporters = reporters | {f"email:{e}" for e in emails}
            if jira_orgs:
                cache.org_by_jira = {jira_org_id: org_id for jira_org_id, org_id in session.connection().execute(
                    select(Organization.jira_org_id, Organization.id).where(
                        one_of(session, Organization.jira_org_id, jira_orgs)))
                    if jira_org_id is not None}
        return cache

    def _load_rows(self, session: Session, issue_ids: set[str], comment_ids: set[str], *, participants: bool,
                   echo: bool) -> None:
        if issue_ids:
            self._load_tickets(session, issue_ids, echo=echo, comments=bool(comment_ids))
        if comment_ids:
            self.comments = {r.jira_id: r for r in map(comment_row, session.connection().execute(
                select(*COMMENT_READ).where(one_of(session, Comment.jira_id, comment_ids)).order_by(COMMENTS.c.id)
                .with_for_update()).all()) if r.jira_id is not None}
        ticket_ids = {t.id for t in self.tickets.values() if t.id is not None}
        if participants and ticket_ids:  # compared with the lists the events carry
            self._load_participants(session, ticket_ids)

    def _load_tickets(self, session: Session, issue_ids: set[str], *, echo: bool, comments: bool) -> None:
        """Lock and read the batch's tickets, each with whether it has echo candidates or pending comments.

        One statement locks them, in id order (a fixed order: no deadlock between drains); plain rows,
        not ORM objects (`sync.inbound.rows` says why). The two flags ride along, so the usual batch
        (no transition of ours in flight, no portal comment waiting) needs no read of its own for them.
        """
        since = utcnow() - ECHO_WINDOW
        flags = []
        if echo:  # events of the batch may echo a customer transition of ours
            flags.append(exists().where(
                OutboxAction.ticket_id == TICKETS.c.id, OutboxAction.kind.in_(TRANSITIONS),
                or_(OutboxAction.state.in_(OUTBOX_IN_FLIGHT), OutboxAction.updated_at >= since)).label("echo"))
        if comments:  # a comment of the batch may be the echo of a portal comment waiting for its JSM id
            flags.append(exists().where(
                COMMENTS.c.ticket_id == TICKETS.c.id, COMMENTS.c.jira_id.is_(None),
                COMMENTS.c.outbox_action_id.is_not(None), COMMENTS.c.deleted.is_(False)).label("pending"))
        candidates: set[int] = set()
        width = len(TICKET_READ)
        for r in session.connection().execute(select(*TICKET_READ, *flags).where(
                one_of(session, Ticket.jira_id, issue_ids)).order_by(TICKETS.c.id).with_for_update(of=TICKETS)).all():
            ticket = self.tickets[r[1]] = ticket_row(r)  # r[1]: jira_id (TICKET_READ's order)
            if echo and r[width]:
                candidates.add(cast(int, ticket.id))
            if comments and r[-1]:
                self.pending_local.add(cast(int, ticket.id))
        if candidates:  # the echo check, once per batch: run per event it cost a quarter of the apply time
            self._load_echo_actors(session, candidates)

    def _load_participants(self, session: Session, ticket_ids: set[int]) -> None:
        held: dict[int, list[str]] = {}
        for ticket_id, account_id in session.connection().execute(
                select(PARTICIPANTS.c.ticket_id, PARTICIPANTS.c.account_id)
                .where(one_of(session, TicketParticipant.ticket_id, ticket_ids))):
            held.setdefault(ticket_id, []).append(account_id)
        for ticket in self.tickets.values():
            ticket.stored_participants = tuple(held.get(cast(int, ticket.id), ()))

    def _load_echo_actors(self, session: Session, ticket_ids: set[int]) -> None:
        since = utcnow() - ECHO_WINDOW
        for jira_id, payload in session.connection().execute(
                select(Ticket.jira_id, OutboxAction.payload).join(Ticket, OutboxAction.ticket_id == Ticket.id)
                .where(one_of(session, OutboxAction.ticket_id, ticket_ids), OutboxAction.kind.in_(TRANSITIONS),
                       or_(OutboxAction.state.in_(OUTBOX_IN_FLIGHT), OutboxAction.updated_at >= since))):
            actor = (payload or {}).get("jsm_actor")
            if actor:
                self.echo_actors.setdefault(jira_id, set()).add(actor)

    def _load_accounts(self, session: Session, accounts: set[str], emails: set[str]) -> None:
        conditions = []
        if accounts:
            conditions.append(one_of(session, User.jira_account_id, accounts))
        if emails:
            conditions.append(one_of(session, User.email, emails))
        self.asked_accounts = set(accounts)
        if not conditions:
            return
        # Newest first, so the oldest matching user wins: the same answer whichever worker asks.
        for account, email, org_id in session.connection().execute(
                select(User.jira_account_id, User.email, User.organization_id).where(or_(*conditions))
                .order_by(User.id.desc())):
            if account in accounts:
                self.portal_accounts.add(account)
            if org_id is not None:
                if account:
                    self.org_by_account[account] = org_id
                self.org_by_email[email] = org_id

    def is_portal_account(self, session: Session, account_id: str) -> bool:
        """Whether a portal user is linked to this JSM account (asked once per batch)."""
        if account_id not in self.asked_accounts:
            self.asked_accounts.add(account_id)
            if session.scalars(select(User.id).where(User.jira_account_id == account_id)).first() is not None:
                self.portal_accounts.add(account_id)
        return account_id in self.portal_accounts

    def reporter_org(self, account_id: str | None, email: str | None) -> tuple[bool, int | None]:
        """(known, organisation id) of a reporter's portal user; known is False if the batch did not ask."""
        keys = [k for k in (account_id, f"email:{email.lower()}" if email else None) if k]
        if not keys or any(k not in self.asked_reporters for k in keys):
            return False, None
        if account_id and account_id in self.org_by_account:
            return True, self.org_by_account[account_id]
        return True, self.org_by_email.get(email.lower()) if email else None
