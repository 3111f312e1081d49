"""Customer actions pushed to JSM (mixed into `JsmGateway`). None of these is ever retried here.

A POST that timed out may still have been applied by JSM. Callers (the outbox) stamp what they
create with a marker and look it up before sending again (`sync.outbound.handlers`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync.jsm import parse
from sync.jsm.transport import SD
from sync.jsm.values import CommentSnapshot, CreatedRequest, TemporaryAttachment, Transition

if TYPE_CHECKING:
    from sync.jsm.transport import Transport


class JsmActions:
    """Write operations of the gateway; `self.t` is its Transport."""

    t: Transport

    def _sd_pages(self, path: str, *, kind: str, what: str, limit: int = 50, params: dict[str, Any] | None = None,
                  experimental: bool = False) -> Any:  # pragma: no cover - provided by JsmGateway
        raise NotImplementedError

    def create_request(self, service_desk_id: str, request_type_id: str, fields: dict[str, Any], *,
                       raise_on_behalf_of: str | None = None, participants: tuple[str, ...] = ()) -> CreatedRequest:
        """Raise a customer request (`requestFieldValues` such as summary, description, customfield_…)."""
        body: dict[str, Any] = {"serviceDeskId": str(service_desk_id), "requestTypeId": str(request_type_id),
                                "requestFieldValues": fields}
        if raise_on_behalf_of:
            body["raiseOnBehalfOf"] = raise_on_behalf_of
        if participants:
            body["requestParticipants"] = list(participants)
        raw = self.t.send_json("POST", f"{SD}/request", body, kind="sd.create_request",
                               what=f"creating a request in service desk {service_desk_id}")
        return parse.created_request(raw)

    def add_comment(self, issue_key: str, body: str, public: bool = True) -> CommentSnapshot:
        """Add a comment through servicedeskapi (the only API that can set JSM visibility)."""
        raw = self.t.send_json("POST", f"{SD}/request/{issue_key}/comment", {"body": body, "public": public},
                               kind="sd.add_comment", what=f"adding a comment to {issue_key}")
        return parse.sd_comment(raw)

    def customer_transitions(self, issue_key: str) -> list[Transition]:
        """Transitions the API account may perform on a request (ids differ per workflow)."""
        out: list[Transition] = []
        start = 0
        while True:
            page = self.t.get_json(f"{SD}/request/{issue_key}/transition", kind="sd.transitions",
                                   what=f"listing transitions of {issue_key}", params={"start": start, "limit": 50})
            values = page.get("values") or []
            out.extend(parse.transition(v) for v in values)
            if page.get("isLastPage", True) or not values:
                return out
            start += len(values)

    def perform_transition(self, issue_key: str, transition_id: str, comment: str | None = None) -> None:
        """Perform a customer transition, with an optional public comment."""
        body: dict[str, Any] = {"id": str(transition_id)}
        if comment:
            # Omit additionalComment entirely rather than the library's `body: null` (REFERENCE c.2).
            body["additionalComment"] = {"body": comment}
        self.t.send_json("POST", f"{SD}/request/{issue_key}/transition", body, kind="sd.transition",
                         what=f"performing transition {transition_id} on {issue_key}")

    def add_feedback(self, issue_key: str, rating: int, comment: str | None = None) -> None:
        """Rate a resolved request (CSAT 1–5)."""
        body: dict[str, Any] = {"rating": int(rating)}
        if comment:
            body["comment"] = {"body": comment}
        self.t.send_json("POST", f"{SD}/request/{issue_key}/feedback", body, kind="sd.feedback",
                         what=f"rating {issue_key}")

    def attach_temporary_file(self, service_desk_id: str, file_name: str, content: bytes,
                              mime_type: str = "application/octet-stream") -> TemporaryAttachment:
        """Upload a file for a later create/attach (multipart field `file`, XSRF opt-out, experimental)."""
        headers = {"X-Atlassian-Token": "no-check", "X-ExperimentalApi": "opt-in", "Accept": "application/json"}
        response = self.t.call("POST", f"{SD}/servicedesk/{service_desk_id}/attachTemporaryFile",
                               kind="sd.attach_temporary", what=f"uploading {file_name}", headers=headers,
                               files={"file": (file_name, content, mime_type)})
        first = (response.json().get("temporaryAttachments") or [{}])[0]
        return TemporaryAttachment(str(first.get("temporaryAttachmentId")), str(first.get("fileName") or file_name))

    def add_attachments(self, issue_key: str, temporary_ids: list[str], public: bool = True,
                        comment: str | None = None) -> CommentSnapshot | None:
        """Attach uploaded files to a request; returns the comment JSM created with them, if any."""
        body: dict[str, Any] = {"temporaryAttachmentIds": list(temporary_ids), "public": public}
        if comment:
            body["additionalComment"] = {"body": comment}
        raw = self.t.send_json("POST", f"{SD}/request/{issue_key}/attachment", body, kind="sd.attach",
                               what=f"attaching files to {issue_key}")
        return parse.sd_comment(raw["comment"]) if isinstance(raw, dict) and raw.get("comment") else None
