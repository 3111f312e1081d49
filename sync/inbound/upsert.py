"""The one way a ticket or comment is written: apply a normalised issue or comment to the store.

Webhook events and reconciliation both end here. Every apply is idempotent and order-safe: a
snapshot older than what the store holds (`fields.updated`, comment `updated`) changes nothing.
The parts, each with one reason to change: order safety and outcomes (`order`), issues (`issues`),
comments (`comments`), tenancy (`tenancy`), a batch's rows and their set-based writes (`rows`, `write`).
"""

from sync.inbound.comments import apply_comment, apply_comment_event
from sync.inbound.issues import MAX_ACCOUNT_ID, apply_issue, apply_issue_event
from sync.inbound.order import MAX_FUTURE_SKEW, ApplyResult, Deferred

__all__ = ["MAX_ACCOUNT_ID", "MAX_FUTURE_SKEW", "ApplyResult", "Deferred", "apply_comment", "apply_comment_event",
           "apply_issue", "apply_issue_event"]
