"""Where the active mapping comes from: the published version in the database, else a file."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import select

from mappings import Mapping, load_default, load_yaml
from sync.models import MappingVersion

if TYPE_CHECKING:
    from sync.runtime import Runtime

# A published mapping changes rarely; re-read the active version id at most this often.
_CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, int | None, Mapping]] = {}


def base_mapping(runtime: Runtime) -> Mapping:
    """The mapping from `mappings.file`, else the built-in default."""
    path = runtime.settings.mappings.file
    return load_yaml(path.read_text(encoding="utf-8")) if path else load_default()


def active_mapping(runtime: Runtime) -> Mapping:
    """The mapping in force now, cached for a few seconds per process."""
    url = runtime.settings.effective_database_url
    cached = _cache.get(url)
    now = time.monotonic()
    if cached and now - cached[0] < _CACHE_SECONDS:
        return cached[2]
    with runtime.sessions() as session:
        row = session.execute(
            select(MappingVersion.id, MappingVersion.document).where(MappingVersion.active.is_(True))
        ).first()
    version_id = row.id if row else None
    if cached and cached[1] == version_id:
        mapping = cached[2]
    else:
        mapping = load_yaml(row.document) if row else base_mapping(runtime)
    _cache[url] = (now, version_id, mapping)
    return mapping


def forget_cache() -> None:
    """Drop the cached mapping (after publishing a new version)."""
    _cache.clear()


def publish_version(runtime: Runtime, document: str, *, author: str, comment: str = "") -> int:
    """Validate `document` and make it the active mapping version; returns the new version number.

    Raises MappingError (listing every problem) and stores nothing when the document is invalid.
    """
    from sqlalchemy import func, update

    load_yaml(document)  # validation first: an invalid mapping is never stored
    with runtime.sessions() as session, session.begin():
        latest = session.scalar(select(func.max(MappingVersion.version))) or 0
        session.execute(update(MappingVersion).where(MappingVersion.active.is_(True)).values(active=False))
        session.add(MappingVersion(version=latest + 1, document=document, author=author, comment=comment,
                                   active=True))
    forget_cache()
    return latest + 1


def list_versions(runtime: Runtime) -> list[MappingVersion]:
    """Every published version, newest first."""
    with runtime.sessions() as session:
        return list(session.scalars(select(MappingVersion).order_by(MappingVersion.version.desc())))


def active_version(runtime: Runtime) -> int | None:
    """The number of the active version, or None while the file/default mapping is in force."""
    with runtime.sessions() as session:
        return session.scalar(select(MappingVersion.version).where(MappingVersion.active.is_(True)))


def rollback(runtime: Runtime, version: int, *, author: str) -> int:
    """Publish the document of an earlier version as a new version (history is never rewritten)."""
    with runtime.sessions() as session:
        document = session.scalar(select(MappingVersion.document).where(MappingVersion.version == version))
    if document is None:
        raise LookupError(f"no mapping version {version}")
    return publish_version(runtime, document, author=author, comment=f"rollback to version {version}")
