"""Webhook bodies built from state Changes, in the Cloud or Data Center shape of real samples."""

from __future__ import annotations

from sandbox.issues import IssueBuilder
from sandbox.state import Change


class EventBuilder:
    """Builds `(event name, body)` pairs for a Change; called under the state lock (a consistent snapshot)."""

    def __init__(self, issues: IssueBuilder) -> None:
        self.issues = issues
        self.s = issues.s

    def build(self, ch: Change) -> list[tuple[str, dict]]:
        """The webhook bodies a real site sends for this change."""
        body: dict = {"timestamp": ch.timestamp, "webhookEvent": ch.kind}
        if ch.kind.startswith("comment_"):
            return [(ch.kind, self._comment_event(ch, body))]
        if ch.event_type_name:
            body["issue_event_type_name"] = ch.event_type_name
        body["user"] = self.s.user(ch.actor)
        body["issue"] = self.issues.issue(ch.request)
        body["issue"].pop("expand")  # REST has it, webhooks do not
        if ch.kind == "jira:issue_deleted":
            return [(ch.kind, body)]
        if ch.items or ch.comment is None:
            body["changelog"] = {"id": str(ch.changelog_id), "items": [self._item(i) for i in ch.items]}
        if ch.comment is not None:
            body["comment"] = self.s.comment(ch.request.id, ch.comment)
        return [(ch.kind, body)]

    def _comment_event(self, ch: Change, body: dict) -> dict:
        assert ch.comment is not None
        if self.s.cloud:
            # Cloud: full comment with jsdPublic, trimmed issue, no `user` (the author fields name the actor).
            body["comment"] = self.s.comment(ch.request.id, ch.comment)
            body["issue"] = self.issues.trimmed(ch.request)
            return body
        # DC: no issue (its id is only in comment.self), no jsdPublic; updated/deleted carry `user`.
        if ch.kind != "comment_created":
            body["user"] = self.s.user(ch.actor)
        body["comment"] = self.s.comment(ch.request.id, ch.comment)
        return body

    def _item(self, item) -> dict:
        out = {"field": item.field, "fieldtype": item.fieldtype}
        if self.s.cloud:
            out["fieldId"] = item.field_id
        out.update({"from": item.from_id, "fromString": item.from_string, "to": item.to_id,
                    "toString": item.to_string})
        return out
