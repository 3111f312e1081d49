"""Command line of the stand-in JSM: `python -m sandbox` and `companion sandbox ...`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from werkzeug.serving import make_server

from sandbox.app import create_app

SECRET_ENV = "SANDBOX_WEBHOOK_SECRET"


def build_parser() -> argparse.ArgumentParser:
    """Arguments shared with `companion sandbox`."""
    p = argparse.ArgumentParser(prog="sandbox", description="Run the stand-in Jira Service Management.")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--seed", default="demo", help="demo | empty | bench:N")
    p.add_argument("--deployment", choices=("cloud", "datacenter"), default="cloud")
    p.add_argument("--webhook-url", default=None)
    # Prefer the environment variable: argv is readable by every local user (ps).
    p.add_argument("--webhook-secret", default=os.environ.get(SECRET_ENV) or None,
                   help=f"HMAC secret to sign webhooks with (default: ${SECRET_ENV})")
    p.add_argument("--email", default="admin@sandbox.local")
    p.add_argument("--token", default="sandbox-token")
    return p


def main(argv: list[str] | None = None) -> int:
    """Serve the stand-in until interrupted; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    base_url = f"http://{args.host}:{args.port}"
    try:
        app = create_app(seed=args.seed, deployment=args.deployment, webhook_url=args.webhook_url,
                         webhook_secret=args.webhook_secret, email=args.email, token=args.token,
                         base_url=base_url)
    except ValueError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    sb = app.extensions["sandbox"]
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"stand-in JSM ({args.deployment}, seed {args.seed}: {len(sb.state.requests)} requests in "
          f"{sb.seed_seconds:.2f}s) on {base_url} as {args.email} / {args.token}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sb.close()
    return 0
