"""`companion mappings validate|export|import FILE`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from mappings import MappingError, load_yaml
from sync.mapping_store import active_mapping, publish_version
from sync.runtime import configure
from sync.settings import Settings


def run_mappings_command(args: argparse.Namespace, settings_of: Callable[[argparse.Namespace], Settings]) -> int:
    """Validate a file, export the active mapping, or import a file as a new active version."""
    if args.action == "validate":
        try:
            mapping = load_yaml(Path(args.file).read_text(encoding="utf-8"))
        except OSError as exc:
            print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 1
        except MappingError as exc:
            print(f"{args.file}: invalid mapping", file=sys.stderr)
            for message in exc.messages:
                print(f"  - {message}", file=sys.stderr)
            return 1
        print(f"{args.file}: valid ({len(mapping.statuses)} customer statuses, {len(mapping.priorities)} priorities)")
        return 0
    runtime = configure(settings_of(args))
    if args.action == "export":
        text = active_mapping(runtime).to_yaml()
        if args.file == "-":
            sys.stdout.write(text)
        else:
            Path(args.file).write_text(text, encoding="utf-8")
            print(f"active mapping written to {args.file}")
        return 0
    try:
        text = Path(args.file).read_text(encoding="utf-8")
        version = publish_version(runtime, text, author="cli", comment=args.comment or f"imported from {args.file}")
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    except MappingError as exc:
        print(f"{args.file}: invalid mapping, nothing imported", file=sys.stderr)
        for message in exc.messages:
            print(f"  - {message}", file=sys.stderr)
        return 1
    print(f"mapping version {version} is now active")
    return 0
