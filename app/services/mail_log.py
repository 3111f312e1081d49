"""What the admins' mail page shows: the outgoing mails with their state and the server's answer, and the
`.eml` files the embedded transport wrote (when no `mail.smtp_url` is set)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.models import OutgoingMail

PAGE_SIZE = 200
# Exactly the names `sync.notify.transport.write_eml` gives: nothing else under data_dir is ever served.
_EML_NAME = re.compile(r"^[0-9]{8}-[0-9]{6}-[A-Za-z0-9._-]{1,200}\.eml$")


@dataclass(frozen=True)
class EmlFile:
    name: str
    size: int
    written_at: datetime


@dataclass(frozen=True)
class ShownMessage:
    headers: list[tuple[str, str]]
    text: str


def recent_mails(db: Session, state: str | None = None, limit: int = PAGE_SIZE) -> list[OutgoingMail]:
    """The newest outgoing mails first, optionally of one state."""
    query = select(OutgoingMail).order_by(OutgoingMail.id.desc()).limit(limit)
    if state:
        query = query.where(OutgoingMail.state == state)
    return list(db.scalars(query))


def eml_files(directory: Path, limit: int = PAGE_SIZE) -> list[EmlFile]:
    """The newest `.eml` files first."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if _EML_NAME.match(p.name) and p.is_file()]
    found.sort(key=lambda p: p.name, reverse=True)
    return [EmlFile(p.name, p.stat().st_size, datetime.fromtimestamp(p.stat().st_mtime, UTC)) for p in found[:limit]]


def read_eml(directory: Path, name: str) -> bytes | None:
    """The bytes of one `.eml` file by its exact name, else None (any other name, including paths)."""
    if not _EML_NAME.match(name):
        return None
    path = directory / name
    return path.read_bytes() if path.is_file() else None


def show(raw: bytes) -> ShownMessage:
    """The headers and the plain-text part of a message, for reading in the browser."""
    parsed = message_from_bytes(raw, policy=policy.default)
    body = parsed.get_body(("plain",)) if hasattr(parsed, "get_body") else None
    text = body.get_content() if body is not None else ""
    return ShownMessage([(k, str(v)) for k, v in parsed.items()], text)
