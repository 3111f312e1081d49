"""`companion mappings validate|export|import FILE`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from app.services.audit import record
from mappings import Mapping, MappingError, load_yaml
from sync.mapping_store import publish_version
from sync.projection import reproject
from sync.runtime import Runtime
from sync.settings import Settings


def _read_mapping(path: str, failure: str) -> tuple[str, Mapping] | None:
    """The file's text and mapping, or None after printing why it cannot be used."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        return text, load_yaml(text)
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
    except MappingError as exc:
        print(f"{path}: {failure}", file=sys.stderr)
        for message in exc.messages:
            print(f"  - {message}", file=sys.stderr)
    return None


def _reproject(runtime: Runtime, version: int) -> None:
    """Re-project every ticket under the new version here, with a progress bar (the CLI is a one-off)."""
    with tqdm(desc="re-projecting tickets", unit=" groups", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        with runtime.sessions() as session, session.begin():
            result = reproject.apply(session, runtime.mapping, progress)
    print(f"version {version}: {result.changed} of {result.tickets} tickets changed customer status")


def run_mappings_command(args: argparse.Namespace, settings_of: Callable[[argparse.Namespace], Settings]) -> int:
    """Validate a file, export the active mapping, or import a file as a new active version."""
    if args.action == "validate":
        loaded = _read_mapping(args.file, "invalid mapping")
        if loaded is None:
            return 1
        mapping = loaded[1]
        print(f"{args.file}: valid ({len(mapping.statuses)} customer statuses, {len(mapping.priorities)} priorities)")
        return 0
    runtime = Runtime(settings_of(args))
    if args.action == "export":
        text = runtime.mapping.to_yaml()
        if args.file == "-":
            sys.stdout.write(text)
        else:
            Path(args.file).write_text(text, encoding="utf-8")
            print(f"active mapping written to {args.file}")
        return 0
    loaded = _read_mapping(args.file, "invalid mapping, nothing imported")
    if loaded is None:
        return 1
    comment = args.comment or f"imported from {args.file}"
    version = publish_version(runtime, loaded[0], author="cli", comment=comment,
                              on_publish=lambda db, number: record(db, None, "mapping.publish",
                                                                   f"mapping version {number}", None,
                                                                   {"comment": comment, "via": "cli"}))
    print(f"mapping version {version} is now active")
    _reproject(runtime, version)
    return 0
