"""What each kind of outbox action does in JSM, written so that a repeated push changes nothing twice.

A push with `attempts > 1` may follow one that reached JSM before its worker died, so each handler
first looks for its own earlier effect: the request carrying our marker, our comment with the same
body, the status the transition was meant to reach. Handlers only call JSM; `sync.outbound.push`
records the outcome.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from sync.inbound.echo import normalise_body
from sync.jsm.errors import JsmPermanentError
from sync.jsm.snapshots import IssueSnapshot
from sync.models import Comment, OutboxAction
from sync.outbound.outbox import marker

if TYPE_CHECKING:
    from sync.jsm.gateway import JsmGateway
    from sync.runtime import Runtime


class ActionRefused(JsmPermanentError):
    """JSM cannot perform the action in the request's current state (no such customer transition)."""

    def __init__(self, message: str, code: str = "not_allowed_now") -> None:
        super().__init__(message, status=409)
        self.code = code


@dataclass(frozen=True)
class Context:
    """What a handler knows of the claimed action (plain values: no session is open during JSM calls)."""

    action_id: int
    uuid: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    user_email: str | None
    user_account_id: str | None
    user_name: str | None
    ticket_key: str | None
    ticket_jira_id: str | None
    project_key: str | None


@dataclass(frozen=True)
class Outcome:
    """JSM's answer to record: the created key, the issue as it now is, the id of our comment."""

    response: str
    result_key: str | None = None
    issue: IssueSnapshot | None = None
    comment_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _save_step(runtime: Runtime, action_id: int, **values: Any) -> None:
    # A step that must survive a crash (the key JSM gave us) is committed before the next call.
    with runtime.sessions() as session, session.begin():
        action = session.get(OutboxAction, action_id, with_for_update=True)
        if action is None:
            raise LookupError(f"outbox action {action_id} vanished while it was being pushed")
        action.payload = {**action.payload, **values}
        if "created_key" in values:
            action.result_key = values["created_key"]


def _ticket_key(ctx: Context) -> str:
    """The key of the request the action is about: every kind but `create` has a ticket."""
    if ctx.ticket_key is None:
        raise LookupError(f"outbox action {ctx.action_id} ({ctx.kind}) has no ticket to act on")
    return ctx.ticket_key


def _find_created(gw: JsmGateway, project_key: str, mark: str) -> IssueSnapshot | None:
    # The marker is in the description (the one field every create accepts), so text search finds it;
    # the description is checked again because Jira's text search is fuzzy.
    for page in gw.search_pages(f'project = "{project_key}" AND text ~ "{mark}" ORDER BY created DESC', 5):
        for hit in page.hits:
            if mark in (hit.issue.description or ""):
                return hit.issue
        break
    return None


def create(ctx: Context, gw: JsmGateway, runtime: Runtime) -> Outcome:
    """Raise the request on behalf of the customer, once; then attach the files through temporary uploads."""
    p = ctx.payload
    mark = marker(ctx.uuid)
    key = p.get("created_key")
    note = " (found after a retry)" if key else ""
    if key is None and ctx.attempts > 1:
        found = _find_created(gw, p["project_key"], mark)
        key, note = (found.key, " (found after a retry)") if found else (None, "")
    if key is None:
        description = (p.get("description") or "").rstrip()
        fields = {**(p.get("fields") or {}), "summary": p["summary"],
                  "description": f"{description}\n\n_(customer portal ref {mark})_".lstrip()}
        created = gw.create_request(p["service_desk"], p["request_type"], fields,
                                    raise_on_behalf_of=ctx.user_account_id or ctx.user_email)
        key = created.issue_key
        _save_step(runtime, ctx.action_id, created_key=key)
    files = p.get("files") or []
    if files and not p.get("attached"):
        ids = [gw.attach_temporary_file(p["service_desk"], f["name"], base64.b64decode(f["b64"]),
                                        f.get("mime") or "application/octet-stream").temporary_attachment_id
               for f in files]
        gw.add_attachments(key, ids, public=True)
        _save_step(runtime, ctx.action_id, attached=True)
    return Outcome(response=f"created {key}{note}", result_key=key, issue=gw.get_issue(key))


def _linked_elsewhere(runtime: Runtime, jira_id: str, action_id: int) -> bool:
    with runtime.sessions() as session:
        row = session.scalars(select(Comment).where(Comment.jira_id == jira_id)).first()
        return row is not None and row.outbox_action_id not in (None, action_id)


def _find_comment(ctx: Context, gw: JsmGateway, runtime: Runtime, body: str) -> str | None:
    actor = ctx.payload.get("jsm_actor")
    wanted = normalise_body(body)
    for c in reversed(gw.list_comments(_ticket_key(ctx), include_internal=False)):
        author = c.author.account_id if c.author else None
        if normalise_body(c.body) == wanted and (not actor or author in (None, actor)) \
                and not _linked_elsewhere(runtime, c.jira_id, ctx.action_id):
            return c.jira_id
    return None


def _named(gw: JsmGateway, key: str, names: list[str]) -> list[str]:
    wanted = set(names)
    return [a.jira_id for a in gw.list_request_attachments(key) if a.filename in wanted]


def _comment_with_files(ctx: Context, gw: JsmGateway, runtime: Runtime) -> Outcome:
    """Upload the files, then attach them with the comment as JSM's `additionalComment`, each once.

    Before the first attach the request's attachments bearing our file names are recorded
    (`attach_seen`); a retry that finds new ones with every name knows an earlier push attached them.
    """
    p, key = ctx.payload, _ticket_key(ctx)
    body, files = p.get("jsm_body"), p["files"]
    names = [f["name"] for f in files]
    attached, comment_id, note = bool(p.get("attached")), p.get("comment_id"), ""
    if not attached and ctx.attempts > 1 and p.get("attach_seen") is not None:
        seen = set(p["attach_seen"])
        attached = len([ref for ref in _named(gw, key, names) if ref not in seen]) >= len(names)
        note = " (found after a retry)" if attached else ""
    if not attached:
        if p.get("attach_seen") is None:
            _save_step(runtime, ctx.action_id, attach_seen=_named(gw, key, names))
        desk = p.get("service_desk") or ctx.project_key
        if desk is None:
            raise LookupError(f"outbox action {ctx.action_id}: no service desk to upload the files to")
        ids = [gw.attach_temporary_file(desk, f["name"], base64.b64decode(f["b64"]),
                                        f.get("mime") or "application/octet-stream").temporary_attachment_id
               for f in files]
        made = gw.add_attachments(key, ids, public=True, comment=body)
        comment_id = made.jira_id if made else None
        _save_step(runtime, ctx.action_id, attached=True, comment_id=comment_id)
    if body and comment_id is None:
        # Attached by an earlier push (its comment came with the files), or JSM took the files without it.
        comment_id = _find_comment(ctx, gw, runtime, body)
        if comment_id is None:
            comment_id = gw.add_comment(key, body, public=True).jira_id
    said = f"; comment {comment_id}" if comment_id else ""
    return Outcome(response=f"attached {len(files)} file(s){said}{note}", comment_id=comment_id)


def _respond(ctx: Context, gw: JsmGateway, runtime: Runtime, done: Outcome) -> Outcome:
    """A customer's reply hands a request waiting for them back to support, as JSM's "Respond" does.

    Offered only while the request waits for the customer, so a retry after it ran finds none and skips it.
    """
    key = _ticket_key(ctx)
    available = [{"id": t.id, "name": t.name} for t in gw.customer_transitions(key)]
    respond = runtime.mapping.pick_transition("respond", available, ctx.project_key)
    if respond is None:
        return done
    gw.perform_transition(key, respond["id"])
    return Outcome(response=f"{done.response}; transition '{respond['name']}' ({respond['id']})",
                   issue=gw.get_issue(key), comment_id=done.comment_id)


def comment(ctx: Context, gw: JsmGateway, runtime: Runtime) -> Outcome:
    """Add the customer's public comment (with its files, if any), unless an earlier push already did."""
    if ctx.payload.get("files"):
        return _respond(ctx, gw, runtime, _comment_with_files(ctx, gw, runtime))
    body = ctx.payload["jsm_body"]
    if ctx.attempts > 1:
        found = _find_comment(ctx, gw, runtime, body)
        if found:
            done = Outcome(response=f"comment {found} (found after a retry)", comment_id=found)
            return _respond(ctx, gw, runtime, done)
    created = gw.add_comment(_ticket_key(ctx), body, public=True)
    return _respond(ctx, gw, runtime, Outcome(response=f"comment {created.jira_id}", comment_id=created.jira_id))


def _goal_reached(kind: str, runtime: Runtime, issue: IssueSnapshot) -> bool:
    status = runtime.mapping.resolve_status(issue.status_id, issue.status_name, issue.status_category,
                                            project_key=issue.project_key, request_type_id=issue.request_type_id)
    if kind == "close":
        return status.bucket == "closed"
    return status.bucket == "open" if kind == "reopen" else status.bucket != "open"


def transition(ctx: Context, gw: JsmGateway, runtime: Runtime) -> Outcome:
    """Resolve, cancel or reopen through the customer transition the mapping names (with the comment)."""
    key, kind, mapping = _ticket_key(ctx), ctx.kind, runtime.mapping
    body = ctx.payload.get("jsm_body")
    if ctx.attempts > 1:
        issue = gw.get_issue(key)
        if issue is not None and _goal_reached(kind, runtime, issue):
            found = _find_comment(ctx, gw, runtime, body) if body else None
            return Outcome(response="already done in JSM (found after a retry)", issue=issue, comment_id=found)
    hops: list[str] = []
    for _ in range(2):
        available = [{"id": t.id, "name": t.name} for t in gw.customer_transitions(key)]
        chosen = mapping.pick_transition(kind, available, ctx.project_key)
        if chosen is not None:
            break
        # Some workflows offer a customer waiting on support only "Respond" first: one extra hop.
        respond = mapping.pick_transition("respond", available, ctx.project_key) if not hops else None
        if respond is None:
            names = ", ".join(t["name"] for t in available) or "none"
            raise ActionRefused(f"JSM offers no '{kind}' transition for {key} now (offered: {names})")
        gw.perform_transition(key, respond["id"])
        hops.append(respond["name"])
    gw.perform_transition(key, chosen["id"], comment=body)
    found = _find_comment(ctx, gw, runtime, body) if body else None
    via = f" via {', '.join(hops)}" if hops else ""
    return Outcome(response=f"transition '{chosen['name']}' ({chosen['id']}){via}", issue=gw.get_issue(key),
                   comment_id=found)


def rate(ctx: Context, gw: JsmGateway, runtime: Runtime) -> Outcome:
    """CSAT through JSM's feedback endpoint (Cloud); a comment where there is none (Data Center)."""
    score, text = int(ctx.payload["score"]), (ctx.payload.get("comment") or "").strip() or None
    if gw.cloud:
        try:
            gw.add_feedback(_ticket_key(ctx), score, text)  # a repeat overwrites: idempotent in effect
            return Outcome(response=f"feedback {score}/5")
        except JsmPermanentError as exc:
            if exc.status not in (404, 405):
                raise
    body = f"*{ctx.user_name or 'Customer'}* rated the support {'★' * score}{'☆' * (5 - score)} ({score}/5)"
    body += f":\n\n{text}" if text else ""
    if ctx.attempts > 1 and _find_comment(ctx, gw, runtime, body):
        return Outcome(response=f"rating comment {score}/5 (found after a retry)")
    created = gw.add_comment(_ticket_key(ctx), body, public=True)
    return Outcome(response=f"rating as comment {created.jira_id} ({score}/5)")


HANDLERS = {"create": create, "comment": comment, "resolve": transition, "cancel": transition,
            "reopen": transition, "rate": rate,
            "close": transition}
