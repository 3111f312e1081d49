"""Permissions as data: the fixed permission set, built-in roles as named sets of it, and what a user holds.

A user's permissions are the union of their built-in role, the roles given to them, and the roles of every
group they belong to. Views ask `has(user, Permission.X)`; nothing outside this module compares role names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sync.models import GroupRole, RoleDefinition, User, UserRole


class Permission(StrEnum):
    VIEW_OWN = "view_own"
    VIEW_GROUP = "view_group"
    VIEW_ORG = "view_org"
    ACT_OWN = "act_own"
    ACT_GROUP = "act_group"
    ACT_ORG = "act_org"
    CREATE = "create"
    EXPORT = "export"
    SHARE_SUMMARY = "share_summary"
    MANAGE_ORG_USERS = "manage_org_users"
    ADMINISTER = "administer"


PERMISSIONS = tuple(p.value for p in Permission)
P = Permission


@dataclass(frozen=True)
class RoleSpec:
    """A role as the permission check sees it (built-in or defined by an admin)."""

    name: str
    permissions: frozenset[Permission]
    leading: bool = False
    builtin: bool = False
    label: str = ""


def _spec(name: str, perms: Iterable[Permission], leading: bool = False) -> RoleSpec:
    return RoleSpec(name, frozenset(perms), leading=leading, builtin=True, label=name)


_CUSTOMER = {P.VIEW_OWN, P.ACT_OWN, P.CREATE, P.EXPORT}
_LEAD = _CUSTOMER | {P.VIEW_GROUP, P.VIEW_ORG, P.ACT_GROUP, P.ACT_ORG, P.SHARE_SUMMARY}
# The meaning each built-in role had before roles became data: org_viewer reads its organisation
# but changes nothing; a group lead sees (and acts in) its organisation and its group's open requests.
BUILTIN_ROLES: dict[str, RoleSpec] = {spec.name: spec for spec in (
    _spec("customer", _CUSTOMER),
    _spec("org_viewer", {P.VIEW_OWN, P.VIEW_ORG, P.EXPORT, P.SHARE_SUMMARY}),
    _spec("group_lead", _LEAD, leading=True),
    _spec("org_admin", _LEAD | {P.MANAGE_ORG_USERS}),
    _spec("admin", set(Permission), leading=True),
)}


def defined_spec(row: RoleDefinition) -> RoleSpec:
    """The check's view of a role an admin defined (unknown permission names are ignored)."""
    perms = frozenset(Permission(p) for p in row.permissions or () if p in PERMISSIONS)
    if row.leading:
        perms |= {P.VIEW_GROUP}
    return RoleSpec(row.name, perms, leading=row.leading, label=row.label or row.name)


def role_specs(user: User) -> list[RoleSpec]:
    """Every role the user holds: built-in, own extra roles, then their groups' roles."""
    specs = [BUILTIN_ROLES[str(user.role)]] if str(user.role) in BUILTIN_ROLES else []
    grants: list[UserRole | GroupRole] = list(user.role_grants or ())
    for group in user.groups or ():
        grants.extend(group.role_grants or ())
    for grant in grants:
        if grant.role_name in BUILTIN_ROLES:
            specs.append(BUILTIN_ROLES[grant.role_name])
        elif grant.definition is not None:
            specs.append(defined_spec(grant.definition))
    return specs


def permissions_of(user: User) -> frozenset[Permission]:
    """The union of the permissions of every role the user holds (nothing for a deactivated user)."""
    if not user.active and user.id is not None:
        return frozenset()
    held: set[Permission] = set()
    for spec in role_specs(user):
        held |= spec.permissions
    return frozenset(held)


def has(user: User | None, permission: Permission) -> bool:
    """Whether `user` holds `permission` (an anonymous visitor holds none)."""
    return user is not None and permission in permissions_of(user)


def is_admin(user: User | None) -> bool:
    """Holds the `administer` permission (sees every organisation, reaches /admin/)."""
    return has(user, P.ADMINISTER)


def can_manage_users(user: User | None) -> bool:
    """Admins, and org admins for their own organisation."""
    return is_admin(user) or (has(user, P.MANAGE_ORG_USERS) and user is not None
                              and user.organization_id is not None)


def can_grant(granter: User, permissions: Iterable[Permission]) -> bool:
    """An org admin may give roles only up to their own permissions; admins may give any."""
    return is_admin(granter) or frozenset(permissions) <= permissions_of(granter)
