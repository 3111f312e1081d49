"""The site's Organizations field ids, kept in the store so webhook application knows them without JSM.

Only the field id tells an empty Organizations field (`[]` or `null`: un-shared in JSM) apart from
any other empty custom field. Reconciliation learns it from JSM's field list and records it here;
the inbox drain reads it, so an un-shared request leaves its old organisation as soon as the
webhook is applied. Until the first reconcile, an empty field is read as "not said".
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sync.models import SyncState

_NAME = "jsm:organisations_fields"


def remember_organisations_fields(session: Session, field_ids: frozenset[str]) -> None:
    """Record the site's Organizations field ids (when JSM named any)."""
    if not field_ids:
        return
    row = session.get(SyncState, _NAME)
    value = {"ids": sorted(field_ids)}
    if row is None:
        session.add(SyncState(name=_NAME, value=value))
    elif row.value != value:
        row.value = value


def organisations_fields(session: Session) -> frozenset[str]:
    """The recorded Organizations field ids; empty until a reconcile has recorded them."""
    row = session.get(SyncState, _NAME)
    ids = (row.value or {}).get("ids") if row is not None else None
    return frozenset(str(i) for i in ids) if isinstance(ids, list) else frozenset()
