"""Administration of organisations, users, groups and roles, each change written to the audit log.

Admins manage everything; org admins (`manage_org_users`) manage their own organisation's users and groups
and may give roles only up to their own permissions. Anything outside the actor's reach is `AdminError(404)`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.services.accounts import AccountError, create_org, create_user, end_sessions, find_org
from app.services.admin_input import N_, AdminError, flag, names, require_admin, require_manager, text
from app.services.admin_roles import all_roles, create_role, role_json, role_spec
from app.services.audit import record
from app.services.serializers import iso
from sync.models import ROLES, Group, GroupRole, Organization, Ticket, User, UserRole
from sync.permissions import BUILTIN_ROLES, Permission, can_grant, defined_spec, is_admin

# Callers reach these through this module (admin.AdminError, admin.create_role, ...).
__all__ = ["AdminError", "all_roles", "create_role", "defined_spec", "role_json", "role_spec"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
    require_admin(actor)
    return list(db.scalars(select(Organization).order_by(Organization.name)))


def add_org(db: Session, actor: User, data: dict[str, Any]) -> Organization:
    require_admin(actor)
    slug = text(data, "slug", required=True, limit=64) or ""
    name = text(data, "name", required=True) or ""
    jira_org_id = text(data, "jira_org_id", limit=64)
    if not _SLUG.match(slug):
        raise AdminError(400, N_("'slug' must be lowercase letters, digits and dashes (at most 64)"), "slug")
    if db.scalars(select(Organization).where(Organization.slug == slug)).first():
        raise AdminError(400, N_("'slug': the organisation %(slug)s already exists"), "slug", {"slug": slug})
    _check_link(db, jira_org_id, None)
    org = create_org(db, slug, name, jira_org_id)
    record(db, actor, "organization.create", f"organization {slug}", org.id, {"name": name,
                                                                                "jira_org_id": jira_org_id})
    return org


def update_org(db: Session, actor: User, org_id: int, data: dict[str, Any]) -> Organization:
    require_admin(actor)
    org = db.get(Organization, org_id)
    if org is None:
        raise AdminError(404, N_("no organisation %(id)s"), None, {"id": org_id})
    changes: dict[str, Any] = {}
    name = text(data, "name")
    if name is not None:
        changes["name"], org.name = name, name
    if "jira_org_id" in data:
        link = text(data, "jira_org_id", limit=64)
        _check_link(db, link, org.id)
        changes["jira_org_id"], org.jira_org_id = link, link
    record(db, actor, "organization.update", f"organization {org.slug}", org.id, changes)
    return org


# --------------------------------------------------------------------------- groups
def group_json(group: Group) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "organization": group.organization.slug if group.organization else None,
            "roles": sorted(g.role_name for g in group.role_grants), "members": sorted(u.email for u in group.members)}


def list_groups(db: Session, actor: User) -> list[Group]:
    require_manager(actor)
    query = select(Group).order_by(Group.name)
    if not is_admin(actor):
        query = query.where(Group.organization_id == actor.organization_id)
    return list(db.scalars(query))


def _check_roles(db: Session, actor: User, names: list[str], field: str) -> None:
    for name in names:
        spec = role_spec(db, name)
        if spec is None:
            raise AdminError(400, N_("'%(field)s': there is no role %(name)s"), field, {"field": field, "name": name})
        if not can_grant(actor, spec.permissions):
            raise AdminError(400, N_("'%(field)s': you may not give the role %(name)s (it has more than yours)"),
                             field, {"field": field, "name": name})


def add_group(db: Session, actor: User, data: dict[str, Any]) -> Group:
    require_manager(actor)
    name = text(data, "name", required=True, limit=128) or ""
    org = _org_for(db, actor, data)
    if db.scalars(select(Group).where(Group.organization_id == (org.id if org else None),
                                      Group.name == name)).first():
        raise AdminError(400, N_("'name': the group %(name)s already exists"), "name", {"name": name})
    roles = names(data, "roles") or []
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
    ref = text(data, "organization", limit=255)
    if not is_admin(actor):
        if ref is not None and (actor.organization is None or ref not in (actor.organization.slug,
                                                                           actor.organization.name)):
            raise AdminError(404, N_("no organisation %(id)s"), "organization", {"id": ref})
        return actor.organization
    if ref is None:
        return None
    return _org(db, ref)


def _org(db: Session, ref: str) -> Organization:
    org = find_org(db, ref)
    if org is None:
        raise AdminError(400, N_("'organization': there is no organisation %(ref)s"), "organization", {"ref": ref})
    return org


def _check_link(db: Session, link: str | None, own_id: int | None) -> None:
    """A JSM organisation is linked to one of ours at most."""
    taken = link and db.scalars(select(Organization).where(Organization.jira_org_id == link,
                                                           Organization.id != own_id)).first()
    if taken:
        raise AdminError(400, N_("'jira_org_id': JSM organisation %(link)s is already linked to %(other)s"),
                         "jira_org_id", {"link": link, "other": taken.slug})


def list_users(db: Session, actor: User, org_ref: str | None = None) -> list[User]:
    require_manager(actor)
    query = select(User).order_by(User.email)
    if not is_admin(actor):
        query = query.where(User.organization_id == actor.organization_id)
    elif org_ref:
        query = query.where(User.organization_id == _org(db, org_ref).id)
    return list(db.scalars(query))


def managed_user(db: Session, actor: User, user_id: int) -> User:
    """A user the actor may manage, else AdminError(404)."""
    require_manager(actor)
    user = db.get(User, user_id)
    if user is None or (not is_admin(actor) and user.organization_id != actor.organization_id):
        raise AdminError(404, N_("no user %(id)s"), None, {"id": user_id})
    return user


def managed_user_by_email(db: Session, actor: User, email: str) -> User:
    """A user the actor may manage, by e-mail address (what the CLI takes), else AdminError(404)."""
    user = db.scalars(select(User).where(User.email == email.strip().lower()[:255])).first()
    if user is None:
        raise AdminError(404, N_("no user %(id)s"), None, {"id": email})
    return managed_user(db, actor, user.id)


def grantable_roles(actor: User) -> list[str]:
    """The built-in roles the actor may give (the forms offer only these)."""
    return [role for role in ROLES if can_grant(actor, BUILTIN_ROLES[role].permissions)]


def _role(db: Session, actor: User, data: dict[str, Any], default: str | None) -> str | None:
    role = text(data, "role", required=default is None and "role" in data, limit=64)
    if role is None:
        return default
    if role not in ROLES:
        raise AdminError(400, N_("'role' must be one of %(roles)s"), "role", {"roles": ", ".join(ROLES)})
    _check_roles(db, actor, [role], "role")
    return role


def _groups(db: Session, org_id: int | None, wanted: list[str]) -> list[Group]:
    found = []
    for name in wanted:
        group = db.scalars(select(Group).where(Group.organization_id == org_id, Group.name == name)).first()
        if group is None:
            raise AdminError(400, N_("'groups': there is no group %(name)s in this organisation"), "groups",
                             {"name": name})
        found.append(group)
    return found


def invite(db: Session, actor: User, data: dict[str, Any]) -> User:
    """Create an invited user (no usable password until they accept the invitation)."""
    require_manager(actor)
    email = (text(data, "email", required=True) or "").lower()
    if not _EMAIL.match(email):
        raise AdminError(400, N_("'email': %(email)s is not an e-mail address"), "email", {"email": email})
    if db.scalars(select(User).where(User.email == email)).first():
        raise AdminError(400, N_("'email': the user %(email)s already exists"), "email", {"email": email})
    role = _role(db, actor, data, "customer") or "customer"
    spec = BUILTIN_ROLES[role]
    org = _org_for(db, actor, data)
    if org is None and Permission.ADMINISTER not in spec.permissions:
        raise AdminError(400, N_("'organization' is required for the role %(role)s"), "organization", {"role": role})
    groups = _groups(db, org.id if org else None, names(data, "groups") or [])
    if spec.leading and not groups and Permission.ADMINISTER not in spec.permissions:
        raise AdminError(400, N_("'groups': the role %(role)s needs a group"), "groups", {"role": role})
    extra = names(data, "roles") or []
    _check_roles(db, actor, extra, "roles")
    try:
        user, _generated = create_user(db, email=email, role=role, org_slug=org.slug if org else None,
                                       group=groups[0].name if groups else None, name=text(data, "name") or "")
    except AccountError as exc:  # checked above; kept so nothing unforeseen becomes a 5xx
        raise AdminError(400, N_("'email': %(reason)s"), "email", {"reason": str(exc)}) from None
    user.password_hash = None  # only the invitation sets one
    user.must_change_password = False
    user.groups = groups
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
        active = flag(data, "active")
        if user.id == actor.id and not active:
            raise AdminError(400, N_("'active': you cannot deactivate yourself"), "active")
        if user.active != active:
            changes["active"] = active
            user.active = active
            if not active:
                changes["tokens_revoked"] = end_sessions(db, user)
    if "name" in data:
        changes["name"] = user.name = text(data, "name") or ""
    if "role" in data:
        role = _role(db, actor, data, None)
        if user.id == actor.id:
            raise AdminError(400, N_("'role': you cannot change your own role"), "role")
        changes["role"], user.role = role, role  # type: ignore[assignment]
    if "organization" in data:
        org = _org_for(db, actor, data)
        if org is None and Permission.ADMINISTER not in BUILTIN_ROLES[str(user.role)].permissions:
            raise AdminError(400, N_("'organization' is required for the role %(role)s"), "organization",
                             {"role": str(user.role)})
        changes["organization"] = org.slug if org else None
        user.organization_id = org.id if org else None
        user.groups = []
    if "groups" in data:
        wanted = names(data, "groups") or []
        user.groups = _groups(db, user.organization_id, wanted)
        changes["groups"] = wanted
    if "roles" in data:
        extra = names(data, "roles") or []
        _check_roles(db, actor, extra, "roles")
        user.role_grants = [UserRole(user_id=user.id, role_name=r) for r in extra]
        changes["roles"] = extra
    db.flush()
    record(db, actor, "user.update", f"user {user.email}", user.organization_id, changes)
    return user
