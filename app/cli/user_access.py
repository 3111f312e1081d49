"""One user's access from the command line: `users tokens|revoke-token|reset-link|view-as EMAIL`.

The same services as the admin pages and API, acting as "cli" with full rights; every change and every
"view as" is audited.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from app.cli.accounts import CLI_ACTOR
from app.services import admin, admin_tokens
from app.services.accounts import account_session
from app.services.admin_input import AdminError
from app.services.invitations import RESET_HOURS
from app.services.scope import SCOPES, ScopeError, visible_ticket, visible_tickets
from sync.jobs import request_notifications
from sync.models import Ticket, User
from sync.redis_conn import connect
from sync.settings import Settings, load_settings

MAX_LISTED = 200


def _run(args: argparse.Namespace, work: Callable[[Session, User, Settings], int]) -> int:
    """`work(db, user)` for the user named by `args.email`, in one transaction; a refusal prints why."""
    settings = load_settings(args.config)
    try:
        with account_session(settings) as db, db.begin():
            return work(db, admin.managed_user_by_email(db, CLI_ACTOR, args.email), settings)
    except AdminError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


def cmd_tokens(args: argparse.Namespace) -> int:
    """One line per token: id, state, created, last used, name."""
    def work(db: Session, user: User, _settings: Settings) -> int:
        for token in admin_tokens.tokens_of(db, CLI_ACTOR, user.id):
            data = admin_tokens.token_json(token)
            state = f"revoked {data['revoked']}" if data["revoked"] else "active"
            print(f"{token.id:>6}  {state:<28} created {data['created']}  last used {data['last_used'] or 'never'}"
                  f"  {token.name}")
        return 0
    return _run(args, work)


def cmd_revoke_token(args: argparse.Namespace) -> int:
    def work(db: Session, user: User, _settings: Settings) -> int:
        token = admin_tokens.revoke_token(db, CLI_ACTOR, user.id, args.token_id)
        print(f"token {token.id} ({token.name or 'unnamed'}) of {user.email} revoked")
        return 0
    return _run(args, work)


def cmd_reset_link(args: argparse.Namespace) -> int:
    """Mail a reset link through the notification outbox and print it."""
    links: list[str] = []

    def work(db: Session, user: User, settings: Settings) -> int:
        links.append(admin_tokens.reset_link_token(db, CLI_ACTOR, user.id, settings))
        return 0

    if _run(args, work) != 0:
        return 1
    connection = connect(load_settings(args.config))
    try:
        if not request_notifications(connection):
            print("Redis unavailable: the sweeper will send the reset mail once it is back", file=sys.stderr)
    finally:
        connection.close()
    print(f"reset mail queued for {args.email}; its link (valid {RESET_HOURS} hour, single use):")
    print(links[0])
    return 0


def _line(ticket: Ticket) -> str:
    return f"{ticket.key:<12} {ticket.customer_status:<18} {ticket.summary}"


def cmd_view_as(args: argparse.Namespace) -> int:
    """The requests the user sees in a scope (or whether they see one request); audited as "view as"."""
    def work(db: Session, user: User, _settings: Settings) -> int:
        viewed = admin_tokens.view_as_target(db, CLI_ACTOR, user.id, "read")
        if args.key:
            ticket = visible_ticket(db, viewed, args.key)
            print(_line(ticket) if ticket else f"{args.key} is not in the scope of {viewed.email}")
            return 0 if ticket else 3
        try:
            query = visible_tickets(viewed, args.scope)
        except ScopeError as exc:
            print(f"error: --scope: {exc}", file=sys.stderr)
            return 1
        rows: list[Any] = list(db.scalars(query.order_by(Ticket.jira_updated_at.desc()).limit(MAX_LISTED)))
        for ticket in rows:
            print(_line(ticket))
        print(f"{len(rows)} request(s) in the {args.scope} scope of {viewed.email}", file=sys.stderr)
        return 0
    return _run(args, work)


def register(users: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the token, reset-link and view-as subcommands to `users`."""
    def add(name: str, func: Callable[[argparse.Namespace], int], text: str) -> argparse.ArgumentParser:
        p = users.add_parser(name, help=text, description=text)
        p.set_defaults(func=func)
        p.add_argument("email")
        return p

    add("tokens", cmd_tokens, "list a user's API tokens (last use, revoked)")
    add("revoke-token", cmd_revoke_token, "revoke one of a user's API tokens at once").add_argument(
        "token_id", type=int, help="the id 'users tokens' prints")
    add("reset-link", cmd_reset_link, "mail a user a password reset link (1 hour, single use) and print it")
    p = add("view-as", cmd_view_as, "list the requests a user sees, exactly as the portal shows them")
    p.add_argument("--scope", default="mine", choices=list(SCOPES))
    p.add_argument("--key", help="only say whether the user sees this request (exit status 3 when not)")

