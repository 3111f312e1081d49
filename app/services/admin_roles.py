"""Roles: the built-in ones and those admins define (named sets of permissions), each creation audited."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.admin_input import N_, AdminError, flag, names, require_admin, text
from app.services.audit import record
from sync.models import RoleDefinition, User
from sync.permissions import BUILTIN_ROLES, PERMISSIONS, RoleSpec, defined_spec

_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def all_roles(db: Session) -> list[RoleSpec]:
    """Built-in roles first, then the ones admins defined."""
    defined = [defined_spec(r) for r in db.scalars(select(RoleDefinition).order_by(RoleDefinition.name))]
    return list(BUILTIN_ROLES.values()) + defined


def role_spec(db: Session, name: str) -> RoleSpec | None:
    if name in BUILTIN_ROLES:
        return BUILTIN_ROLES[name]
    row = db.scalars(select(RoleDefinition).where(RoleDefinition.name == name)).first()
    return defined_spec(row) if row else None


def role_json(spec: RoleSpec) -> dict[str, Any]:
    return {"name": spec.name, "label": spec.label or spec.name, "builtin": spec.builtin, "leading": spec.leading,
            "permissions": sorted(p.value for p in spec.permissions)}


def create_role(db: Session, actor: User, data: dict[str, Any]) -> RoleDefinition:
    require_admin(actor)
    name = text(data, "name", required=True, limit=64) or ""
    if not _ROLE_NAME.match(name):
        raise AdminError(400, N_("'name' must be lowercase letters, digits and underscores (2 to 64)"), "name")
    if name in BUILTIN_ROLES or db.scalars(select(RoleDefinition).where(RoleDefinition.name == name)).first():
        raise AdminError(400, N_("'name': a role %(name)s already exists"), "name", {"name": name})
    perms = names(data, "permissions") or []
    unknown = [p for p in perms if p not in PERMISSIONS]
    if unknown:
        raise AdminError(400, N_("'permissions': unknown %(unknown)s; use %(known)s"), "permissions",
                         {"unknown": ", ".join(unknown), "known": ", ".join(PERMISSIONS)})
    leading = flag(data, "leading") if "leading" in data else False
    row = RoleDefinition(name=name, label=text(data, "label") or name, permissions=perms, leading=leading)
    db.add(row)
    db.flush()
    record(db, actor, "role.create", f"role {name}", None, {"permissions": perms, "leading": leading})
    return row
