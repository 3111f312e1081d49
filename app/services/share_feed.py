"""The customer-visible changes of an organisation's requests, and their Atom feed (RFC 4287, by feedgen).

Only what a customer is told: a request was opened, waits for the customer, was resolved, was closed. Named by
the customer status labels of the mapping in the link's language, never by a Jira status; subjects only when
the link was made with them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from feedgen.feed import FeedGenerator
from sqlalchemy import Select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.models import StatusHistory, Ticket

FEED_LIMIT = 50
WAITING = "awaiting_customer"
# A change of status is in the feed when the customer is told of it: waiting for them, or done.
KIND_OF_BUCKET = {"resolved": "resolved", "closed": "closed"}


def _kind(mapping: Mapping, status: str) -> str | None:
    if status == WAITING:
        return "waiting"
    try:
        return KIND_OF_BUCKET.get(mapping.status(status).bucket)
    except KeyError:
        return None


def customer_changes(db: Session, scope: Select[Any], mapping: Mapping, locale: str, opened_label: str,
                     *, with_subjects: bool, limit: int = FEED_LIMIT) -> list[dict[str, Any]]:
    """The newest `limit` changes, newest first: `{"id", "key", "kind", "label", "summary", "at"}`."""
    scope = scope.order_by(None)
    fed = [s.key for s in mapping.statuses if _kind(mapping, s.key)]
    out: list[dict[str, Any]] = []
    for key, summary, created in db.execute(scope.with_only_columns(Ticket.key, Ticket.summary, Ticket.created_at)
                                            .order_by(Ticket.created_at.desc()).limit(limit)):
        out.append({"id": f"{key}/opened", "key": key, "kind": "opened", "label": opened_label,
                    "summary": summary if with_subjects else None, "at": created})
    for entry_id, key, summary, status, at in db.execute(
            scope.with_only_columns(StatusHistory.id, Ticket.key, Ticket.summary, StatusHistory.customer_status,
                                    StatusHistory.at).select_from(Ticket)
            .join(StatusHistory, StatusHistory.ticket_id == Ticket.id)
            .where(StatusHistory.customer_status.in_(fed))
            .order_by(StatusHistory.at.desc(), StatusHistory.id.desc()).limit(limit)):
        out.append({"id": f"{key}/{entry_id}", "key": key, "kind": _kind(mapping, status),
                    "label": mapping.status(status).label(locale, requester=False),
                    "summary": summary if with_subjects else None, "at": at})
    out.sort(key=lambda change: change["at"], reverse=True)
    return out[:limit]


def atom_feed(changes: list[dict[str, Any]], *, title: str, self_url: str, page_url: str, author: str,
              locale: str, updated: datetime) -> bytes:
    """The Atom document of `changes`; ids are stable UUIDs derived from the page and the change."""
    feed = FeedGenerator()
    feed.id(f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, self_url)}")
    feed.title(title)
    feed.author({"name": author})
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    feed.link(href=page_url, rel="alternate", type="text/html")
    feed.language(locale)
    feed.updated(max([updated, *(c["at"] for c in changes)]))
    for change in reversed(changes):  # feedgen prepends each new entry: add the oldest first
        entry = feed.add_entry()
        entry.id(f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, page_url + '#' + change['id'])}")
        subject = f" {change['summary']}" if change["summary"] else ""
        entry.title(f"{change['key']}{subject}: {change['label']}")
        entry.link(href=page_url, rel="alternate", type="text/html")
        entry.updated(change["at"])
        entry.published(change["at"])
        entry.category(term=change["kind"])
    result: bytes = feed.atom_str(pretty=True)
    return result
