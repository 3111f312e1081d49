"""The site's Organizations and Request participants field ids, kept in the store so webhook application
knows them without JSM.

Only the field id tells an empty Organizations field (`[]` or `null`: un-shared in JSM) apart from
any other empty custom field, and the participants field (a list of users) from any other user list.
Reconciliation learns them from JSM's field list and records them here; the inbox drain reads them, so
an un-shared request leaves its old organisation as soon as the webhook is applied, and a participant
added or removed in JSM is one for notifications at once. Until the first reconcile, both are "not said".
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.models import SyncState

_ORGANISATIONS = "jsm:organisations_fields"
_PARTICIPANTS = "jsm:participants_fields"


_CACHE = "site_fields"  # in Session.info: what this session read, so a batch asks once, not per event


def _remember(session: Session, name: str, field_ids: frozenset[str]) -> None:
    if not field_ids:
        return
    session.info.get(_CACHE, {}).pop(name, None)
    row = session.get(SyncState, name)
    value = {"ids": sorted(field_ids)}
    if row is None:
        session.add(SyncState(name=name, value=value))
    elif row.value != value:
        row.value = value


def _recorded(session: Session, name: str) -> frozenset[str]:
    # Read once per session: an absent row (no reconcile yet) is not kept by the identity map, so every
    # event of an inbox batch asked the database again (two reads per event, a third of the apply).
    # Both fields in one read: each inbox batch has a session of its own, and asks for both.
    cache: dict[str, frozenset[str]] = session.info.setdefault(_CACHE, {})
    if name not in cache:
        names = (_ORGANISATIONS, _PARTICIPANTS)
        values: dict[str, dict[str, object] | None] = dict(session.execute(
            select(SyncState.name, SyncState.value).where(SyncState.name.in_(names))).all())
        for each in names:
            ids = (values.get(each) or {}).get("ids")
            cache.setdefault(each, frozenset(str(i) for i in ids) if isinstance(ids, list) else frozenset())
    return cache[name]


def remember_organisations_fields(session: Session, field_ids: frozenset[str]) -> None:
    """Record the site's Organizations field ids (when JSM named any)."""
    _remember(session, _ORGANISATIONS, field_ids)


def organisations_fields(session: Session) -> frozenset[str]:
    """The recorded Organizations field ids; empty until a reconcile has recorded them."""
    return _recorded(session, _ORGANISATIONS)


def remember_participants_fields(session: Session, field_ids: frozenset[str]) -> None:
    """Record the site's Request participants field ids (when JSM named any)."""
    _remember(session, _PARTICIPANTS, field_ids)


def participants_fields(session: Session) -> frozenset[str]:
    """The recorded Request participants field ids; empty until a reconcile has recorded them."""
    return _recorded(session, _PARTICIPANTS)
