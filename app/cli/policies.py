"""`companion policies run [--now ISO8601] [--dry-run] [--json]`: the automatic rules, once, in this process."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from sync.jobs import request_push
from sync.policies.run import due, run
from sync.runtime import Runtime
from sync.settings import Settings


def parse_now(text: str | None) -> datetime:
    """`--now`: an ISO 8601 instant (`Z` or an offset; a naive one is read as UTC); default the real time."""
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SystemExit(f"--now: {text!r} is not an ISO 8601 time (e.g. 2025-03-07T14:00:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run_policies_command(settings: Settings, *, now: str | None, dry_run: bool, as_json: bool) -> int:
    """Print `KEY RULE ACTION` (or one JSON object) per due rule; without --dry-run, also do it."""
    at = parse_now(now)
    runtime = Runtime(settings)
    try:
        if dry_run:
            for firing in due(runtime, at):
                print(json.dumps(firing.as_dict(), ensure_ascii=False) if as_json else firing.line())
            return 0
        result = run(runtime, at)
        for firing, outcome in zip(result.firings, result.outcomes, strict=True):
            if as_json:
                print(json.dumps({**firing.as_dict(), "outcome": outcome}, ensure_ascii=False))
            else:
                print(firing.line() + ("" if outcome == "done" else f"  ({outcome})"))
        if result.outbox_actions and not request_push(runtime.redis):
            print("Redis unavailable: the sweeper will push the actions once it is back", file=sys.stderr)
        return 0
    finally:
        runtime.close()
