"""`companion reconcile [--full] [--project KEY]` with a progress bar."""

from __future__ import annotations

import sys

from tqdm import tqdm

from sync.inbound.reconcile import reconcile
from sync.jsm.gateway import JsmError
from sync.runtime import Runtime
from sync.settings import Settings


def run_reconcile(settings: Settings, *, full: bool, project: str | None) -> int:
    """Run one reconciliation in this process, showing progress on stderr."""
    runtime = Runtime(settings)
    bar = tqdm(desc="reconcile" + (" (full)" if full else ""), unit=" tickets", file=sys.stderr)

    def progress(done: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    try:
        result = reconcile(runtime, full=full, project=project, progress=progress)
    except JsmError as exc:
        bar.close()
        print(f"reconcile failed: {exc}", file=sys.stderr)
        return 1
    bar.close()
    print(", ".join(f"{name}: {value}" for name, value in result.as_dict().items()))
    return 0
