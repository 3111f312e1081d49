"""The audit log: who changed what, when, kept in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.serializers import iso
from sync.models import AuditEntry, User
from sync.permissions import is_admin

MAX_ENTRIES = 500


def record(db: Session, actor: User | None, action: str, target: str, organization_id: int | None = None,
           details: dict[str, Any] | None = None) -> AuditEntry:
    """Add one entry inside the caller's transaction (so the change and its record commit together)."""
    entry = AuditEntry(actor_id=actor.id if actor else None, actor_email=actor.email if actor else None,
                       organization_id=organization_id, action=action, target=target, details=details or {})
    db.add(entry)
    return entry


def entries_for(db: Session, reader: User, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
    """Newest first; org admins read only their own organisation's entries."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, MAX_ENTRIES)))
    if not is_admin(reader):
        query = query.where(AuditEntry.organization_id == reader.organization_id)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    return list(db.scalars(query))


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": iso(entry.at), "actor": entry.actor_email, "action": entry.action,
            "target": entry.target, "details": entry.details}
