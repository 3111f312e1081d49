"""Administration of organisations, users, groups and roles, each change written to the audit log.

Admins manage everything; org admins (`manage_org_users`) manage their own organisation's users and groups
and may give roles only up to their own permissions. Anything outside the actor's reach is `AdminError(404)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.services.accounts import AccountError, create_org, create_user, end_sessions, find_org
from app.services.audit import record
from app.services.serializers import iso
from sync.models import ROLES, Group, GroupRole, Organization, RoleDefinition, Ticket, User, UserRole
from sync.permissions import (
    BUILTIN_ROLES,
    PERMISSIONS,
    Permission,
    RoleSpec,
    can_grant,
    can_manage_users,
    defined_spec,
    is_admin,
)

_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


@dataclass
class AdminError(Exception):
    """A refused change: HTTP status, message, and the field it is about."""

    status: int
    message: str
    field: str | None = None


def _text(data: dict[str, Any], name: str, required: bool = False, limit: int = 255) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise AdminError(400, f"'{name}' is required", name)
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise AdminError(400, f"'{name}' must be a non-empty string of at most {limit} characters", name)
    return value.strip()


def _names(data: dict[str, Any], name: str) -> list[str] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise AdminError(400, f"'{name}' must be a list of names", name)
    return sorted({v.strip() for v in value})


def _require_manager(actor: User) -> None:
    if not can_manage_users(actor):
        raise AdminError(404, "not found")


def _require_admin(actor: User) -> None:
    if not is_admin(actor):
        raise AdminError(404, "not found")


# --------------------------------------------------------------------------- roles
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
    _require_admin(actor)
    name = _text(data, "name", required=True, limit=64) or ""
    if not _ROLE_NAME.match(name):
        raise AdminError(400, "'name' must be lowercase letters, digits and underscores (2-64)", "name")
    if name in BUILTIN_ROLES or db.scalars(select(RoleDefinition).where(RoleDefinition.name == name)).first():
        raise AdminError(400, f"'name': a role {name!r} already exists", "name")
    perms = _names(data, "permissions") or []
    unknown = [p for p in perms if p not in PERMISSIONS]
    if unknown:
        raise AdminError(400, f"'permissions': unknown {', '.join(unknown)}; use {', '.join(PERMISSIONS)}",
                         "permissions")
    leading = data.get("leading", False)
    if not isinstance(leading, bool):
        raise AdminError(400, "'leading' must be true or false", "leading")
    row = RoleDefinition(name=name, label=_text(data, "label") or name, permissions=perms, leading=leading)
    db.add(row)
    db.flush()
    record(db, actor, "role.create", f"role {name}", None, {"permissions": perms, "leading": leading})
    return row


# --------------------------------------------------------------------------- organisations
def org_json(db: Session, org: Organization) -> dict[str, Any]:
    members = db.scalar(select(func.count()).select_from(User).where(User.organization_id == org.id)) or 0
    open_count = db.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.organization_id == org.id, Ticket.bucket == "open", Ticket.deleted.is_(False))) or 0
    total = db.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.organization_id == org.id, Ticket.deleted.is_(False))) or 0
    return {"id": org.id, "slug": org.slug, "name": org.name, "jira_org_id": org.jira_org_id,
            "members": members, "requests": {"open": open_count, "total": total}}


def list_orgs(db: Session, actor: User) -> list[Organization]:
    _require_admin(actor)
    return list(db.scalars(select(Organization).order_by(Organization.name)))


def add_org(db: Session, actor: User, data: dict[str, Any]) -> Organization:
    _require_admin(actor)
    slug = _text(data, "slug", required=True, limit=64) or ""
    name = _text(data, "name", required=True) or ""
    jira_org_id = _text(data, "jira_org_id", limit=64)
    try:
        org = create_org(db, slug, name, jira_org_id)
    except AccountError as exc:
        field = "jira_org_id" if "JSM" in str(exc) else "slug"
        raise AdminError(400, f"'{field}': {exc}", field) from None
    record(db, actor, "organization.create", f"organization {slug}", org.id, {"name": name,
                                                                                "jira_org_id": jira_org_id})
    return org


def update_org(db: Session, actor: User, org_id: int, data: dict[str, Any]) -> Organization:
    _require_admin(actor)
    org = db.get(Organization, org_id)
    if org is None:
        raise AdminError(404, f"no organization {org_id}")
    changes: dict[str, Any] = {}
    name = _text(data, "name")
    if name is not None:
        changes["name"], org.name = name, name
    if "jira_org_id" in data:
        link = _text(data, "jira_org_id", limit=64)
        taken = link and db.scalars(select(Organization).where(Organization.jira_org_id == link,
                                                               Organization.id != org.id)).first()
        if taken:
            raise AdminError(400, f"'jira_org_id': JSM organisation {link} is linked to {taken.slug}", "jira_org_id")
        changes["jira_org_id"], org.jira_org_id = link, link
    record(db, actor, "organization.update", f"organization {org.slug}", org.id, changes)
    return org


# --------------------------------------------------------------------------- groups
def group_json(group: Group) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "organization": group.organization.slug if group.organization else None,
            "roles": sorted(g.role_name for g in group.role_grants), "members": sorted(u.email for u in group.members)}


def list_groups(db: Session, actor: User) -> list[Group]:
    _require_manager(actor)
    query = select(Group).order_by(Group.name)
    if not is_admin(actor):
        query = query.where(Group.organization_id == actor.organization_id)
    return list(db.scalars(query))


def _check_roles(db: Session, actor: User, names: list[str], field: str) -> None:
    for name in names:
        spec = role_spec(db, name)
        if spec is None:
            raise AdminError(400, f"'{field}': no role {name!r}", field)
        if not can_grant(actor, spec.permissions):
            raise AdminError(400, f"'{field}': you may not give the role {name!r} (more than your own)", field)


def add_group(db: Session, actor: User, data: dict[str, Any]) -> Group:
    _require_manager(actor)
    name = _text(data, "name", required=True, limit=128) or ""
    org = _org_for(db, actor, data)
    if db.scalars(select(Group).where(Group.organization_id == (org.id if org else None),
                                      Group.name == name)).first():
        raise AdminError(400, f"'name': the group {name!r} already exists", "name")
    roles = _names(data, "roles") or []
    _check_roles(db, actor, roles, "roles")
    group = Group(organization_id=org.id if org else None, name=name)
    db.add(group)
    db.flush()
    group.role_grants = [GroupRole(group_id=group.id, role_name=r) for r in roles]
    record(db, actor, "group.create", f"group {name}", group.organization_id, {"roles": roles})
    return group


# --------------------------------------------------------------------------- users
def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": str(user.role),
            "roles": sorted(g.role_name for g in user.role_grants), "active": bool(user.active),
            "organization": user.organization.slug if user.organization else None,
            "groups": sorted(g.name for g in user.groups), "last_login": iso(user.last_login_at),
            "created": iso(user.created_at)}


def _org_for(db: Session, actor: User, data: dict[str, Any]) -> Organization | None:
    """The organisation named in `data` ('organization': slug or exact name); org admins only their own."""
    ref = _text(data, "organization", limit=255)
    if not is_admin(actor):
        if ref is not None and (actor.organization is None or ref not in (actor.organization.slug,
                                                                           actor.organization.name)):
            raise AdminError(404, f"no organization {ref!r}", "organization")
        return actor.organization
    if ref is None:
        return None
    org = find_org(db, ref)
    if org is None:
        raise AdminError(400, f"'organization': no organisation {ref!r}", "organization")
    return org


def list_users(db: Session, actor: User, org_ref: str | None = None) -> list[User]:
    _require_manager(actor)
    query = select(User).order_by(User.email)
    if not is_admin(actor):
        query = query.where(User.organization_id == actor.organization_id)
    elif org_ref:
        org = find_org(db, org_ref)
        if org is None:
            raise AdminError(400, f"'organization': no organisation {org_ref!r}", "organization")
        query = query.where(User.organization_id == org.id)
    return list(db.scalars(query))


def managed_user(db: Session, actor: User, user_id: int) -> User:
    """A user the actor may manage, else AdminError(404)."""
    _require_manager(actor)
    user = db.get(User, user_id)
    if user is None or (not is_admin(actor) and user.organization_id != actor.organization_id):
        raise AdminError(404, f"no user {user_id}")
    return user


def _role(db: Session, actor: User, data: dict[str, Any], default: str | None) -> str | None:
    role = _text(data, "role", required=default is None and "role" in data, limit=64)
    if role is None:
        return default
    if role not in ROLES:
        raise AdminError(400, f"'role' must be one of {', '.join(ROLES)}", "role")
    _check_roles(db, actor, [role], "role")
    return role


def _set_groups(db: Session, user: User, names: list[str]) -> None:
    groups = []
    for name in names:
        group = db.scalars(select(Group).where(Group.organization_id == user.organization_id,
                                               Group.name == name)).first()
        if group is None:
            raise AdminError(400, f"'groups': no group {name!r} in this organisation", "groups")
        groups.append(group)
    user.groups = groups


def invite(db: Session, actor: User, data: dict[str, Any]) -> User:
    """Create an invited user (no usable password until they accept the invitation)."""
    _require_manager(actor)
    email = _text(data, "email", required=True) or ""
    role = _role(db, actor, data, "customer") or "customer"
    org = _org_for(db, actor, data)
    extra = _names(data, "roles") or []
    _check_roles(db, actor, extra, "roles")
    try:
        user, _generated = create_user(db, email=email, role=role, org_slug=org.slug if org else None,
                                       name=_text(data, "name") or "")
    except AccountError as exc:
        text = str(exc)
        field = "email" if ("email" in text or "exists" in text) else "organization" if "org" in text else "role"
        raise AdminError(400, f"'{field}': {text}", field) from None
    user.password_hash = None  # only the invitation sets one
    user.must_change_password = False
    _set_groups(db, user, _names(data, "groups") or [])
    user.role_grants = [UserRole(user_id=user.id, role_name=r) for r in extra]
    db.flush()
    record(db, actor, "user.invite", f"user {user.email}", user.organization_id,
           {"role": role, "groups": sorted(g.name for g in user.groups), "roles": extra})
    return user


def update_user(db: Session, actor: User, user_id: int, data: dict[str, Any]) -> User:
    """Change a user; `active: false` also ends their sessions and API tokens at once."""
    user = managed_user(db, actor, user_id)
    changes: dict[str, Any] = {}
    if "active" in data:
        active = data["active"]
        if not isinstance(active, bool):
            raise AdminError(400, "'active' must be true or false", "active")
        if user.id == actor.id and not active:
            raise AdminError(400, "'active': you cannot deactivate yourself", "active")
        if user.active != active:
            changes["active"] = active
            user.active = active
            if not active:
                changes["tokens_revoked"] = end_sessions(db, user)
    if "name" in data:
        changes["name"] = user.name = _text(data, "name") or ""
    if "role" in data:
        role = _role(db, actor, data, None)
        if user.id == actor.id:
            raise AdminError(400, "'role': you cannot change your own role", "role")
        changes["role"], user.role = role, role  # type: ignore[assignment]
    if "organization" in data:
        org = _org_for(db, actor, data)
        if org is None and Permission.ADMINISTER not in BUILTIN_ROLES[str(user.role)].permissions:
            raise AdminError(400, "'organization' is required for this role", "organization")
        changes["organization"] = org.slug if org else None
        user.organization_id = org.id if org else None
        user.groups = []
    if "groups" in data:
        names = _names(data, "groups") or []
        _set_groups(db, user, names)
        changes["groups"] = names
    if "roles" in data:
        extra = _names(data, "roles") or []
        _check_roles(db, actor, extra, "roles")
        user.role_grants = [UserRole(user_id=user.id, role_name=r) for r in extra]
        changes["roles"] = extra
    db.flush()
    record(db, actor, "user.update", f"user {user.email}", user.organization_id, changes)
    return user
