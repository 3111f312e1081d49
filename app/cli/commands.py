"""`companion`: the command line of DESIGN.md (run, serve, worker, scheduler, db, orgs, users, …)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from app.cli.accounts import register as register_account_commands
from app.cli.mail import register as register_mail_commands
from app.cli.mappings import run_mappings_command
from app.cli.policies import run_policies_command
from app.cli.processes import run_all, schedule, serve, work
from app.cli.reconcile import run_reconcile
from app.cli.user_access import register as register_access_commands
from app.services.accounts import AccountError, add_org, add_user
from sandbox.cli import main as sandbox_main
from sync.db import upgrade
from sync.models import ROLES
from sync.settings import ConfigError, Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_check_config(args: argparse.Namespace) -> int:
    """Print the effective configuration with secrets masked."""
    settings = _settings(args)
    print(json.dumps(settings.masked(), indent=2, ensure_ascii=False))
    print("configuration OK", file=sys.stderr)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """Apply database migrations."""
    settings = _settings(args)
    upgrade(settings.effective_database_url, args.revision)
    print(f"database at revision {args.revision}: {settings.masked()['database_url']}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the web app (gunicorn when available, else Werkzeug's threaded server)."""
    return serve(_settings(args), args.config, args.host, args.port, args.workers)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run an RQ worker on the given queues."""
    return work(_settings(args), args.queues, burst=args.burst)


def cmd_scheduler(args: argparse.Namespace) -> int:
    """Run RQ's cron scheduler (sweeper, reconcile)."""
    return schedule(_settings(args))


def cmd_run(args: argparse.Namespace) -> int:
    """Everything in one: migrate, then web + worker + scheduler (+ stand-in JSM), until Ctrl-C."""
    return run_all(_settings(args), args.config, args.host, args.port)


def cmd_orgs_add(args: argparse.Namespace) -> int:
    """Create an organisation."""
    try:
        org = add_org(_settings(args), args.slug, args.name, args.jira_org_id)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"organisation {org.slug} ({org.name}) created")
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    """Create a user; prints a new API token on the last line with --token."""
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    if args.password_stdin and not password:
        print("error: --password-stdin given but standard input had no password", file=sys.stderr)
        return 1
    try:
        result = add_user(_settings(args), email=args.email, role=args.role, org_slug=args.org, group=args.group,
                          password=password, want_token=args.token, name=args.name,
                          jira_account_id=args.jira_account_id)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"user {result.email} ({result.role}) created")
    if result.generated_password:
        print(f"temporary password (must be changed at first sign-in): {result.generated_password}")
    if result.token:
        print(result.token)
    return 0


def cmd_mappings(args: argparse.Namespace) -> int:
    """Validate, export or import a mapping file."""
    return run_mappings_command(args, _settings)


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Bring the mirror in line with JSM (incremental from the watermark, or --full)."""
    return run_reconcile(_settings(args), full=args.full, project=args.project)


def cmd_policies_run(args: argparse.Namespace) -> int:
    """Evaluate (and unless --dry-run, perform) the automatic rules of the mapping."""
    return run_policies_command(_settings(args), now=args.now, dry_run=args.dry_run, as_json=args.json)


def cmd_sandbox(args: argparse.Namespace, extra: list[str]) -> int:
    """Run the stand-in JSM (all options are the sandbox's own)."""
    return sandbox_main(extra)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="companion", description="JSM Companion: a customer portal for JSM")
    parser.add_argument("--config", help="YAML configuration file (default: $COMPANION_CONFIG, ./config.yaml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[..., int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    for name, func, text in (("run", cmd_run, "migrate and start web, worker, scheduler (and the stand-in JSM)"),
                             ("serve", cmd_serve, "serve the web application")):
        p = add(name, func, text)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=None, help="default: $PORT or 5000")
        if name == "serve":
            p.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    p = add("worker", cmd_worker, "run an RQ worker")
    p.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    p.add_argument("--queues", nargs="+", default=["inbound", "outbound", "notify", "maintenance"])
    add("scheduler", cmd_scheduler, "run the cron scheduler")
    p = add("db", cmd_db, "database migrations")
    p.add_argument("action", choices=["upgrade"])
    p.add_argument("revision", nargs="?", default="head")
    p = add("reconcile", cmd_reconcile, "reconcile the mirror with JSM")
    p.add_argument("--full", action="store_true", help="compare every ticket and detect deletions")
    p.add_argument("--project", help="only this project key")
    add("check-config", cmd_check_config, "print the effective configuration (secrets masked)")
    orgs = sub.add_parser("orgs", help="organisations").add_subparsers(dest="orgs_command", required=True)
    p = orgs.add_parser("add", help="create an organisation")
    p.set_defaults(func=cmd_orgs_add)
    p.add_argument("slug")
    p.add_argument("--name", required=True)
    p.add_argument("--jira-org-id")
    users = sub.add_parser("users", help="users").add_subparsers(dest="users_command", required=True)
    p = users.add_parser("add", help="create a user")
    p.set_defaults(func=cmd_users_add)
    p.add_argument("email")
    p.add_argument("--role", required=True, choices=list(ROLES))
    p.add_argument("--org", help="organisation slug or exact name (required except for admins)")
    p.add_argument("--group", help="group name (for group leads and their members)")
    p.add_argument("--name", default="")
    p.add_argument("--jira-account-id", help="the user's JSM account id (links their requests)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--token", action="store_true", help="print a new API token on the last line")
    register_account_commands(orgs, users)
    register_access_commands(users)
    p = add("mappings", cmd_mappings, "validate, export or import a mapping")
    p.add_argument("action", choices=["validate", "export", "import"])
    p.add_argument("file", help="YAML file ('-' for standard output with export)")
    p.add_argument("--comment", default="", help="import: a note stored with the new version")
    policies = sub.add_parser("policies", help="automatic rules").add_subparsers(dest="policies_command",
                                                                                 required=True)
    p = policies.add_parser("run", help="perform the automatic rules due now (KEY RULE ACTION per line)")
    p.set_defaults(func=cmd_policies_run)
    p.add_argument("--now", help="evaluate as of this ISO 8601 time (default: now)")
    p.add_argument("--dry-run", action="store_true", help="print what is due without doing it")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    register_mail_commands(sub)
    sub.add_parser("sandbox", help="run the stand-in JSM (see 'companion sandbox --help')", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `companion` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # The sandbox has its own parser; pass everything after "sandbox" through untouched.
    if "sandbox" in argv:
        index = argv.index("sandbox")
        args = parser.parse_args(argv[: index + 1])
        return cmd_sandbox(args, argv[index + 1:])
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
