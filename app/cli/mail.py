"""`companion mail test EMAIL`: send one mail now through the configured transport and print the server's answer."""

from __future__ import annotations

import argparse
import sys

from sync.notify.test_mail import send_test_mail
from sync.notify.transport import PermanentMailError, TransientMailError, UncertainMailError
from sync.settings import load_settings


def cmd_mail_test(args: argparse.Namespace) -> int:
    """Exit 0 when the server took the mail (or the .eml file was written), 1 with its answer otherwise."""
    settings = load_settings(args.config)
    try:
        answer = send_test_mail(settings, args.email)
    except (TransientMailError, PermanentMailError, UncertainMailError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(answer)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `mail test EMAIL`."""
    mail = sub.add_parser("mail", help="outgoing mail").add_subparsers(dest="mail_command", required=True)
    p = mail.add_parser("test", help="send one test mail now and print what the server said")
    p.set_defaults(func=cmd_mail_test)
    p.add_argument("email")
