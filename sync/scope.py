"""Tenant isolation in one place: which tickets a user may see and act on, as SQL conditions.

Everything that shows or sends a ticket builds on this module: the portal's and the API's queries
(`app.services.scope`) and the notification recipients (`sync.notify.recipients`), so a mail can never
reach someone the portal would answer 404. It asks the user's permission set (`sync.permissions`),
never role names: `view_*` permissions open the list scopes, `act_*` permissions decide which of the
visible tickets the user may change.

A user's own requests ("mine") are those they raised in their organisation and those JSM lists them on as a
request participant. The second is the one way a request crosses organisations: JSM shows a participant the
request whatever organisation they are in, so the portal and the mail do too, and stop the moment JSM
removes them (the inbound upsert keeps `ticket_participants` equal to JSM's list).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, inspect, or_, select

from sync.ids_in import IdsIn
from sync.models import GroupMember, Role, Ticket, TicketParticipant, User
from sync.permissions import Permission, is_admin, permissions_of

SCOPES = ("mine", "org", "group")
_VIEW = {"mine": Permission.VIEW_OWN, "org": Permission.VIEW_ORG, "group": Permission.VIEW_GROUP}
_ACT = {"mine": Permission.ACT_OWN, "org": Permission.ACT_ORG, "group": Permission.ACT_GROUP}


class ScopeError(ValueError):
    """The user asked for a scope their permissions do not open."""


def scopes_for(user: User) -> tuple[str, ...]:
    """The list scopes the user's permissions open, in the order the portal offers them."""
    held = permissions_of(user)
    if Permission.ADMINISTER in held:
        return SCOPES
    return tuple(scope for scope in SCOPES if _VIEW[scope] in held)


def action_scopes_for(user: User) -> tuple[str, ...]:
    """The scopes in which the user may change requests (comment, resolve, ...)."""
    held = permissions_of(user)
    if Permission.ADMINISTER in held:
        return SCOPES
    return tuple(scope for scope in SCOPES if _ACT[scope] in held and _VIEW[scope] in held)


def widest_scopes(user: User) -> tuple[str, ...]:
    """The scopes whose union holds every ticket the user may open: the organisation's, else their own,
    plus their groups' open requests for a group lead without the organisation scope."""
    scopes = scopes_for(user)
    widest: list[str] = [str(scope) for scope in ("org", "mine") if scope in scopes][:1]
    if "group" in scopes and widest != ["org"]:
        widest.append("group")
    return tuple(widest)


def reported_by(user: User) -> ColumnElement[bool]:
    """Tickets the user raised (by e-mail, or by their linked JSM account)."""
    conditions = [Ticket.reporter_email == user.email]
    if user.jira_account_id:
        conditions.append(Ticket.reporter_account_id == user.jira_account_id)
    return or_(*conditions)


def participated_by(user: User) -> ColumnElement[bool]:
    """Tickets JSM lists the user's linked account on as a request participant.

    The subquery reads only the participants index (account first) and each ticket it finds is one
    primary-key probe (`IdsIn`), so it stays fast however many tickets there are.
    """
    if not user.jira_account_id:
        return false()
    tickets = select(TicketParticipant.ticket_id).where(TicketParticipant.account_id == user.jira_account_id)
    return IdsIn(Ticket.id.expression, tickets)


def _participates_elsewhere(user: User) -> bool:
    """Whether JSM lists the user on a request outside their organisation (so "org" must reach beyond it).

    Read from the participations loaded with the user; when they were not loaded (a transient reader, or
    a user detached before loading them) it cannot be known, so the answer is yes and the condition stays exact.
    """
    if not user.jira_account_id:
        return False
    state = inspect(user)
    if state.transient or ("participations" in state.unloaded and state.session is None):
        return True
    return any(p.ticket_organization_id != user.organization_id for p in user.participations)


def raised(user: User, ticket: Ticket) -> bool:
    """Whether `user` raised `ticket`: `reported_by` for one loaded ticket (the requester's own wording)."""
    if user.email and ticket.reporter_email == user.email:
        return True
    return bool(user.jira_account_id) and ticket.reporter_account_id == user.jira_account_id


def _in_groups(user: User) -> ColumnElement[bool]:
    """Reporters who share a group with the user (inside the user's organisation)."""
    group_ids = [group.id for group in user.groups or ()]
    if not group_ids:
        return false()
    members = (select(User.email).join(GroupMember, GroupMember.user_id == User.id)
               .where(GroupMember.group_id.in_(group_ids), User.organization_id == user.organization_id))
    return Ticket.reporter_email.in_(members)


def visible_condition(user: User, scope: str = "mine") -> ColumnElement[bool]:
    """What `user` may see in `scope`, as a condition on `Ticket`.

    Never crosses organisations for non-admins, except for requests JSM made them a participant of: those
    are their own ("mine"), and so also in the organisation scope.
    """
    if scope not in scopes_for(user):
        raise ScopeError(f"scope {scope!r} is not available to you; use one of {scopes_for(user)}")
    alive = Ticket.deleted.is_(False)
    if is_admin(user):
        return and_(alive, or_(reported_by(user), participated_by(user))) if scope == "mine" else alive
    if user.organization_id is None:
        return false() if scope == "group" else and_(alive, participated_by(user))
    in_org = Ticket.organization_id == user.organization_id
    if scope == "mine":
        return and_(alive, or_(and_(in_org, reported_by(user)), participated_by(user)))
    if scope == "group":
        return and_(alive, in_org, _in_groups(user), Ticket.bucket == "open")
    # Only a user who takes part in another organisation's request pays for the OR: without it the
    # organisation's list reads its (organisation, time) index in order and stops after one page.
    return and_(alive, or_(in_org, participated_by(user))) if _participates_elsewhere(user) else and_(alive, in_org)


def spans_every_organisation(user: User, scope: str) -> bool:
    """Whether `scope` is every live ticket for `user` (an administrator's organisation or group scope): the
    whole table, so its list and counts must be read through indexes rather than by looking at each row."""
    return scope != "mine" and is_admin(user) and scope in scopes_for(user)


def visible_parts(user: User, scope: str = "mine") -> list[ColumnElement[bool]]:
    """`visible_condition` as disjoint conditions whose union is the same set, each readable in index order.

    An org viewer who takes part in another organisation's request sees their organisation's tickets OR
    those requests; no single index gives that OR in update order, while each part alone has one (the
    organisation's index; the participants' few rows). The second part leaves out the organisation's own
    tickets (NULL organisation included), so no ticket is in both and a merge of the parts repeats none.
    """
    condition = visible_condition(user, scope)
    if scope != "org" or is_admin(user) or user.organization_id is None or not _participates_elsewhere(user):
        return [condition]
    alive = Ticket.deleted.is_(False)
    elsewhere = or_(Ticket.organization_id.is_(None), Ticket.organization_id != user.organization_id)
    return [and_(alive, Ticket.organization_id == user.organization_id),
            and_(alive, participated_by(user), elsewhere)]


def organisation_tickets(org_id: int) -> Select[Any]:
    """An organisation's requests as its org viewers see them, for readers without an account (a share link,
    the monthly report): a transient org viewer, so `visible_condition` still decides what is counted."""
    reader = User(email="", role=Role.ORG_VIEWER, organization_id=org_id)
    return select(Ticket).where(visible_condition(reader, "org"))


def visible_anywhere(user: User) -> ColumnElement[bool]:
    """Every ticket the user may open in any of their scopes (false for a user with none)."""
    scopes = widest_scopes(user)
    return or_(*(visible_condition(user, scope) for scope in scopes)) if scopes else false()


def actionable_condition(user: User) -> ColumnElement[bool]:
    """Every ticket the user may change (inside one of their action scopes)."""
    scopes = action_scopes_for(user)
    return or_(*(visible_condition(user, scope) for scope in scopes)) if scopes else false()
