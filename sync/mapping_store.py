"""Where the active mapping comes from: the published version in the database, else a file."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from mappings import Mapping, load_default, load_yaml
from sync.models import MappingVersion

if TYPE_CHECKING:
    from sync.runtime import Runtime
    from sync.settings import Settings

# A published mapping changes rarely; re-read the active version id at most this often.
CACHE_SECONDS = 5.0

# Called inside the publishing transaction with the new version number (the app writes its audit entry
# there, so a version is never active without its record, nor recorded without being published).
OnPublish = Callable[[Session, int], None]


@dataclass
class MappingCache:
    """The parsed active mapping of one runtime and when its version id was last checked."""

    checked_at: float = float("-inf")
    version_id: int | None = None
    mapping: Mapping | None = None

    def clear(self) -> None:
        self.checked_at, self.version_id, self.mapping = float("-inf"), None, None


def base_mapping(settings: Settings) -> Mapping:
    """The mapping from `mappings.file`, else the built-in default."""
    path = settings.mappings.file
    return load_yaml(path.read_text(encoding="utf-8")) if path else load_default()


def active_mapping(sessions: sessionmaker[Session], settings: Settings, cache: MappingCache) -> Mapping:
    """The mapping in force now; the database is asked at most every CACHE_SECONDS per cache."""
    now = time.monotonic()
    if cache.mapping is not None and now - cache.checked_at < CACHE_SECONDS:
        return cache.mapping
    with sessions() as session:
        row = session.execute(
            select(MappingVersion.id, MappingVersion.document).where(MappingVersion.active.is_(True))
        ).first()
    version_id = row.id if row else None
    if cache.mapping is None or cache.version_id != version_id:
        cache.mapping = load_yaml(row.document) if row else base_mapping(settings)
    cache.checked_at, cache.version_id = now, version_id
    return cache.mapping


def publish_version(runtime: Runtime, document: str, *, author: str, comment: str = "",
                    on_publish: OnPublish | None = None) -> int:
    """Validate `document` and make it the active mapping version; returns the new version number.

    Raises MappingError (listing every problem) and stores nothing when the document is invalid.
    `on_publish` runs in the same transaction: if it fails, nothing is published.
    """
    load_yaml(document)  # validation first: an invalid mapping is never stored
    with runtime.sessions() as session, session.begin():
        latest = session.scalar(select(func.max(MappingVersion.version))) or 0
        session.execute(update(MappingVersion).where(MappingVersion.active.is_(True)).values(active=False))
        session.add(MappingVersion(version=latest + 1, document=document, author=author, comment=comment,
                                   active=True))
        if on_publish is not None:
            on_publish(session, latest + 1)
    runtime.forget_mapping()
    return latest + 1


def list_versions(runtime: Runtime) -> list[MappingVersion]:
    """Every published version, newest first."""
    with runtime.sessions() as session:
        return list(session.scalars(select(MappingVersion).order_by(MappingVersion.version.desc())))


def active_version(runtime: Runtime) -> int | None:
    """The number of the active version, or None while the file/default mapping is in force."""
    with runtime.sessions() as session:
        return session.scalar(select(MappingVersion.version).where(MappingVersion.active.is_(True)))


def version_document(runtime: Runtime, version: int) -> str:
    """The YAML document of a published version; LookupError when there is none."""
    with runtime.sessions() as session:
        document = session.scalar(select(MappingVersion.document).where(MappingVersion.version == version))
    if document is None:
        raise LookupError(f"no mapping version {version}")
    return document


def rollback(runtime: Runtime, version: int, *, author: str, on_publish: OnPublish | None = None) -> int:
    """Publish the document of an earlier version as a new version (history is never rewritten)."""
    return publish_version(runtime, version_document(runtime, version), author=author,
                           comment=f"rollback to version {version}", on_publish=on_publish)


def restore_default(runtime: Runtime, *, author: str, comment: str = "", on_publish: OnPublish | None = None) -> int:
    """Publish the mapping the install starts with (`mappings.file`, else the built-in default) as a new version."""
    return publish_version(runtime, base_mapping(runtime.settings).to_yaml(), author=author,
                           comment=comment or "default mapping restored", on_publish=on_publish)
