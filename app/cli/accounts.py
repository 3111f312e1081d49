"""Account commands: `orgs list`, `users list [--org]`, `users disable EMAIL`, `users invite EMAIL`.

`--org` takes an organisation's slug or its exact name. Changes made here are audited with no actor.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy import select

from app.services import admin
from app.services.accounts import account_session, end_sessions, find_org
from app.services.admin_tokens import reset_second_factor
from app.services.audit import record
from app.services.invitations import send_link
from sync.jobs import request_notifications
from sync.models import ROLES, User
from sync.redis_conn import connect
from sync.settings import Settings, load_settings

# The command line acts with full rights: it runs with the install's own configuration and database.
CLI_ACTOR = User(email="cli", role="admin", active=True)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_orgs_list(args: argparse.Namespace) -> int:
    """One line per organisation: slug, members, open requests, name, linked JSM organisation."""
    with account_session(_settings(args)) as db:
        for org in admin.list_orgs(db, CLI_ACTOR):
            data = admin.org_json(db, org)
            print(f"{org.slug:<24} {data['members']:>5} users {data['requests']['open']:>6} open  {org.name}"
                  + (f"  (JSM {org.jira_org_id})" if org.jira_org_id else ""))
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """One line per user: e-mail, role, organisation, groups, active or disabled."""
    with account_session(_settings(args)) as db:
        try:
            users = admin.list_users(db, CLI_ACTOR, args.org)
        except admin.AdminError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        for user in users:
            state = "active" if user.active else "disabled"
            org = user.organization.slug if user.organization else "-"
            groups = ",".join(sorted(g.name for g in user.groups)) or "-"
            print(f"{user.email:<36} {user.role!s:<11} {org:<20} {groups:<20} {state}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    """Deactivate a user: their sessions and API tokens stop working at once."""
    with account_session(_settings(args)) as db, db.begin():
        user = db.scalars(select(User).where(User.email == args.email.strip().lower())).first()
        if user is None:
            print(f"error: no user {args.email}", file=sys.stderr)
            return 1
        user.active = False
        revoked = end_sessions(db, user)
        record(db, None, "user.update", f"user {user.email}", user.organization_id,
               {"active": False, "tokens_revoked": revoked, "via": "cli"})
    print(f"user {args.email} disabled; {revoked} API token(s) revoked, sessions ended")
    return 0


def cmd_users_reset_2fa(args: argparse.Namespace) -> int:
    """Remove a user's second factor (lost phone and recovery codes); one that needs it sets it up anew."""
    with account_session(_settings(args)) as db, db.begin():
        user = db.scalars(select(User).where(User.email == args.email.strip().lower())).first()
        if user is None:
            print(f"error: no user {args.email}", file=sys.stderr)
            return 1
        reset_second_factor(db, None, user, "cli")
    print(f"two-factor sign-in of {args.email} removed; sessions ended; it is set up again at the next sign-in "
          "where the role requires it")
    return 0


def cmd_users_invite(args: argparse.Namespace) -> int:
    """Invite a user: the invitation mail goes out through the notification outbox; the link is printed too."""
    settings = _settings(args)
    with account_session(settings) as db, db.begin():
        org = find_org(db, args.org) if args.org else None
        if args.org and org is None:
            print(f"error: no organisation {args.org!r}", file=sys.stderr)
            return 1
        try:
            user = admin.invite(db, CLI_ACTOR, {"email": args.email, "role": args.role,
                                                 "organization": org.slug if org else None})
        except admin.AdminError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        link, _mail = send_link(db, settings, user, "invite")
    connection = connect(settings)
    try:
        if not request_notifications(connection):
            print("Redis unavailable: the sweeper will send the invitation mail once it is back", file=sys.stderr)
    finally:
        connection.close()
    print(f"user {args.email} invited; invitation mail queued; its link (valid 7 days, single use):")
    print(link)
    return 0


def register(orgs: argparse._SubParsersAction, users: argparse._SubParsersAction,  # type: ignore[type-arg]
             ) -> None:
    """Add the listing, disabling and inviting subcommands to `orgs` and `users`."""

    def add(group: argparse._SubParsersAction, name: str, func: Callable[..., int],  # type: ignore[type-arg]
            text: str) -> argparse.ArgumentParser:
        p = group.add_parser(name, help=text, description=text)
        p.set_defaults(func=func)
        return p

    add(orgs, "list", cmd_orgs_list, "list organisations with members and open requests")
    p = add(users, "list", cmd_users_list, "list users")
    p.add_argument("--org", help="organisation slug or exact name")
    p = add(users, "disable", cmd_users_disable, "deactivate a user (ends their sessions and API tokens)")
    p.add_argument("email")
    p = add(users, "reset-2fa", cmd_users_reset_2fa, "remove a user's two-factor sign-in (lost phone)")
    p.add_argument("email")
    p = add(users, "invite", cmd_users_invite, "invite a user and print the invitation link")
    p.add_argument("email")
    p.add_argument("--role", default="customer", choices=list(ROLES))
    p.add_argument("--org", help="organisation slug or exact name")
