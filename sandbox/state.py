"""In-memory JSM state: accounts, organisations, requests; every mutation reports a Change."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox import catalog
from sandbox.records import Account, Attachment, Comment, Organization, Request


@dataclass(slots=True)
class ChangeItem:
    """One changelog item (webhook `changelog.items[]`)."""

    field: str
    field_id: str
    from_id: str | None
    from_string: str | None
    to_id: str | None
    to_string: str | None
    fieldtype: str = "jira"


@dataclass(slots=True)
class Change:
    """What happened, for the webhook builder: kind is an event name such as `jira:issue_updated`."""

    kind: str
    request: Request
    actor: Account
    timestamp: int
    items: list[ChangeItem] = field(default_factory=list)
    changelog_id: int | None = None
    event_type_name: str | None = None
    comment: Comment | None = None


class NotAllowed(Exception):
    """A workflow rule forbids the action (answered as 400 by the APIs)."""


class SandboxState:
    """All data of the stand-in; guard every access with `lock` (an RLock, so helpers may nest)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.listener: Callable[[Change], None] | None = None
        self.reset()

    def reset(self) -> None:
        """Forget everything except the listener; the seed module fills the state again."""
        with self.lock:
            self.accounts: dict[str, Account] = {}
            self.by_email: dict[str, Account] = {}
            self.orgs: dict[str, Organization] = {}
            self.requests: dict[str, Request] = {}
            self.by_id: dict[int, Request] = {}
            self.deleted: dict[str, dict] = {}
            self.comments: dict[int, tuple[Request, Comment]] = {}
            self.temp_files: dict[str, tuple[str, str, bytes]] = {}
            self.next_issue_id = 10000
            self.next_comment_id = 10000
            self.next_changelog_id = 10000
            self.next_attachment_id = 10000
            self.next_number = {d.id: 1 for d in catalog.SERVICE_DESKS}
            self.version = 0
            self._last_ms = 0
            self._sorted_cache: dict[tuple, list[Request]] = {}
            self.admin: Account | None = None
            self.agent: Account | None = None
            self.seed_name = "empty"
            self.offset_ms = 0

    # -- helpers -----------------------------------------------------------------------------------
    def clock(self) -> int:
        """Epoch ms, strictly increasing across calls so every change has its own `updated`."""
        with self.lock:
            self._last_ms = max(self.now_ms(), self._last_ms + 1)
            return self._last_ms

    def now_ms(self) -> int:
        """The stand-in's time: the real time plus the offset `/_sandbox/clock` added (SLA tests)."""
        return int(time.time() * 1000) + self.offset_ms

    def move_clock(self, hours: float) -> int:
        """Move the clock forward by `hours`; returns the new time (epoch ms)."""
        with self.lock:
            self.offset_ms += int(hours * 3_600_000)
            return self.now_ms()

    def add_account(self, account: Account) -> Account:
        """Register an account (id and e-mail must be unique)."""
        with self.lock:
            self.accounts[account.account_id] = account
            self.by_email[account.email.lower()] = account
            return account

    def find_account(self, ref: str | None) -> Account | None:
        """Look an account up by accountId, e-mail or DC username."""
        if not ref:
            return None
        with self.lock:
            found = self.accounts.get(ref) or self.by_email.get(str(ref).lower())
            if found is None:
                found = next((a for a in self.accounts.values() if a.name == ref), None)
            return found

    def get(self, key_or_id: str) -> Request | None:
        """A live request by key (any case) or numeric issue id."""
        with self.lock:
            text = str(key_or_id).strip()
            if text.isdigit():
                return self.by_id.get(int(text))
            return self.requests.get(text.upper())

    def insert(self, req: Request) -> None:
        """Store a request built elsewhere (seeding); no change is reported."""
        self.requests[req.key] = req
        self.by_id[req.id] = req
        for c in req.comments:
            self.comments[c.id] = (req, c)
        self._touch()

    def sorted_requests(self, order: tuple[tuple[str, bool], ...]) -> list[Request]:
        """All live requests in an ORDER BY order; cached until the next mutation (searches are hot)."""
        with self.lock:
            cached = self._sorted_cache.get(order)
            if cached is not None:
                return cached
            rows = list(self.requests.values())
            # Stable sorts applied from the last key to the first give a multi-key order.
            for name, desc in reversed(order):
                rows.sort(key=_SORT_KEYS[name], reverse=desc)
            self._sorted_cache[order] = rows
            return rows

    def _touch(self) -> None:
        self.version += 1
        self._sorted_cache.clear()

    def _emit(self, change: Change) -> None:
        self._touch()
        if self.listener is not None:
            self.listener(change)

    def _changelog(self) -> int:
        self.next_changelog_id += 1
        return self.next_changelog_id

    # -- mutations (each reports the webhooks a real site would send) ------------------------------
    def create_request(self, desk_id: str, rtype_id: str, summary: str, description: str,
                       reporter: Account, actor: Account, priority_id: str | None = None,
                       custom: dict[str, str] | None = None) -> Request:
        """Raise a request in Waiting for Support; sends `jira:issue_created`."""
        with self.lock:
            now = self.clock()
            number = self.next_number[desk_id]
            self.next_number[desk_id] = number + 1
            self.next_issue_id += 1
            desk = catalog.DESK_BY_ID[desk_id]
            status = catalog.INITIAL_STATUS
            req = Request(id=self.next_issue_id, key=f"{desk.key}-{number}", number=number, desk_id=desk_id,
                          request_type_id=rtype_id, summary=summary, description=description,
                          reporter=reporter, priority_id=priority_id or catalog.DEFAULT_PRIORITY.id,
                          status_id=status.id, created_ms=now, updated_ms=now, status_changed_ms=now,
                          custom=dict(custom or {}), org_ids=list(reporter.org_ids[:1]),
                          history=[(status.id, now)])
            self.insert(req)
            prio = catalog.PRIORITY_BY_ID[req.priority_id]
            items = [ChangeItem("description", "description", None, None, None, description or None),
                     ChangeItem("priority", "priority", None, None, prio.id, prio.name),
                     ChangeItem("reporter", "reporter", None, None, reporter.account_id, reporter.display_name),
                     ChangeItem("Status", "status", None, None, status.id, status.name),
                     ChangeItem("summary", "summary", None, None, None, summary)]
            self._emit(Change("jira:issue_created", req, actor, now, items, self._changelog(), "issue_created"))
            return req

    def transition(self, req: Request, target: catalog.Status, actor: Account,
                   comment: tuple[str, bool] | None = None) -> None:
        """Move a request to `target` (no workflow check here); sends `jira:issue_updated` with changelog."""
        with self.lock:
            if comment:
                self.add_comment(req, comment[0], comment[1], actor)
            now = self.clock()
            old = catalog.STATUS_BY_ID[req.status_id]
            items = [ChangeItem("status", "status", old.id, old.name, target.id, target.name)]
            new_res = None
            if target.category is catalog.CATEGORY_DONE:
                # Closing keeps the resolution of Resolved/Canceled; entering those sets their own.
                keep = target.id == "6" and req.resolution_id
                new_res = req.resolution_id if keep else catalog.RESOLUTION_ON_ENTER[target.id]
            if new_res != req.resolution_id:
                items.insert(0, ChangeItem("resolution", "resolution", req.resolution_id,
                                           _res_name(req.resolution_id), new_res, _res_name(new_res)))
                req.resolution_id = new_res
                req.resolved_ms = now if new_res else None
            req.status_id = target.id
            req.updated_ms = now
            if old.category is not target.category:
                req.status_changed_ms = now
            req.history.append((target.id, now))
            self._emit(Change("jira:issue_updated", req, actor, now, items, self._changelog(), "issue_generic"))

    def set_priority(self, req: Request, prio: catalog.Priority, actor: Account) -> None:
        """Change the priority; sends `jira:issue_updated`."""
        with self.lock:
            now = self.clock()
            old = catalog.PRIORITY_BY_ID[req.priority_id]
            req.priority_id, req.updated_ms = prio.id, now
            items = [ChangeItem("priority", "priority", old.id, old.name, prio.id, prio.name)]
            self._emit(Change("jira:issue_updated", req, actor, now, items, self._changelog(), "issue_updated"))

    def set_organisations(self, req: Request, org_ids: list[str], actor: Account) -> None:
        """Share the request with exactly these organisations (none: un-shared); sends `jira:issue_updated`."""
        with self.lock:
            now = self.clock()
            old = list(req.org_ids)
            req.org_ids, req.updated_ms = list(org_ids), now
            names = {o: self.orgs[o].name for o in set(old) | set(org_ids) if o in self.orgs}
            items = [ChangeItem("Organizations", catalog.CF_ORGANIZATIONS, ", ".join(old) or None,
                                ", ".join(names[o] for o in old if o in names) or None,
                                ", ".join(org_ids) or None,
                                ", ".join(names[o] for o in org_ids if o in names) or None)]
            self._emit(Change("jira:issue_updated", req, actor, now, items, self._changelog(), "issue_updated"))

    def add_comment(self, req: Request, body: str, public: bool, actor: Account,
                    properties: dict[str, object] | None = None) -> Comment:
        """Add a comment; sends `comment_created` and `jira:issue_updated` (issue_commented)."""
        with self.lock:
            if catalog.STATUS_BY_ID[req.status_id].name == "Closed":
                raise NotAllowed("A closed request can no longer be commented on.")
            now = self.clock()
            self.next_comment_id += 1
            props = dict(properties or {})
            props.setdefault("sd.public.comment", {"internal": not public})
            c = Comment(self.next_comment_id, req.id, body, public, actor, now, now, actor, props)
            req.comments.append(c)
            self.comments[c.id] = (req, c)
            req.updated_ms = now
            if public and actor.is_agent and req.first_response_ms is None:
                req.first_response_ms = now
            self._emit(Change("comment_created", req, actor, now, comment=c))
            self._emit(Change("jira:issue_updated", req, actor, now, [], None, "issue_commented", c))
            return c

    def update_comment(self, req: Request, c: Comment, actor: Account, body: str | None = None,
                       public: bool | None = None) -> None:
        """Edit a comment's body or visibility; sends `comment_updated`."""
        with self.lock:
            now = self.clock()
            if body is not None:
                c.body = body
            if public is not None:
                c.public = public
                c.properties["sd.public.comment"] = {"internal": not public}
            c.updated_ms, c.update_author, req.updated_ms = now, actor, now
            self._emit(Change("comment_updated", req, actor, now, comment=c))
            self._emit(Change("jira:issue_updated", req, actor, now, [], None, "issue_comment_edited", c))

    def delete_comment(self, req: Request, c: Comment, actor: Account) -> None:
        """Remove a comment; sends `comment_deleted`."""
        with self.lock:
            now = self.clock()
            req.comments.remove(c)
            self.comments.pop(c.id, None)
            req.updated_ms = now
            self._emit(Change("comment_deleted", req, actor, now, comment=c))

    def delete_request(self, req: Request, actor: Account) -> None:
        """Delete a request; sends `jira:issue_deleted` with the issue as it was."""
        with self.lock:
            now = self.clock()
            self._emit(Change("jira:issue_deleted", req, actor, now))
            del self.requests[req.key]
            del self.by_id[req.id]
            for c in req.comments:
                self.comments.pop(c.id, None)
            self.deleted[req.key] = {"status": catalog.STATUS_BY_ID[req.status_id].name, "deleted_ms": now}
            self._touch()

    def add_attachments(self, req: Request, files: list[tuple[str, str, bytes]], actor: Account,
                        public: bool = True) -> list:
        """Attach files; sends `jira:issue_updated` with one `Attachment` item per file."""
        with self.lock:
            now = self.clock()
            added = []
            for filename, mime, content in files:
                self.next_attachment_id += 1
                a = Attachment(self.next_attachment_id, filename, mime, len(content), actor, now, content, public)
                req.attachments.append(a)
                added.append(a)
            req.updated_ms = now
            items = [ChangeItem("Attachment", "attachment", None, None, str(a.id), a.filename) for a in added]
            self._emit(Change("jira:issue_updated", req, actor, now, items, self._changelog(), "issue_updated"))
            return added

    def set_participants(self, req: Request, accounts: list[Account], actor: Account) -> None:
        """Replace the participants; sends `jira:issue_updated` for the custom field."""
        with self.lock:
            now = self.clock()
            old = ", ".join(a.display_name for a in req.participants) or None
            req.participants = accounts
            req.updated_ms = now
            new = ", ".join(a.display_name for a in accounts) or None
            items = [ChangeItem("Request participants", catalog.CF_PARTICIPANTS, None, old, None, new, "custom")]
            self._emit(Change("jira:issue_updated", req, actor, now, items, self._changelog(), "issue_updated"))


def _res_name(res_id: str | None) -> str | None:
    return catalog.RESOLUTIONS[res_id][0] if res_id else None


_SORT_KEYS: dict[str, Callable[[Request], object]] = {
    "updated": lambda r: r.updated_ms,
    "created": lambda r: r.created_ms,
    "key": lambda r: (r.desk_id, r.number),
    "priority": lambda r: int(r.priority_id),
    "status": lambda r: r.status_id,
    "id": lambda r: r.id,
}
SORTABLE_FIELDS = frozenset(_SORT_KEYS)
