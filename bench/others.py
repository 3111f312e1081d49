"""The other engineers' benchmark scripts, each run as a subprocess with a time limit; JSON stdout included."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from bench.env import ROOT

SCRIPTS = {"sandbox": "bench/sandbox_bench.py", "portal": "bench/portal_bench.py",
           "outbound": "bench/outbound_bench.py"}


def run_script(path: str, timeout: float, args: list[str]) -> dict:
    """Run one script; missing, failing, timed-out or non-JSON ones are reported as such, never hidden."""
    script = ROOT / path
    if not script.is_file():
        return {"status": "missing", "path": path}
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, str(script), *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "path": path, "limit_s": timeout}
    took = round(time.monotonic() - started, 1)
    if proc.returncode != 0:
        return {"status": "failed", "path": path, "exit": proc.returncode, "seconds": took,
                "stderr_tail": proc.stderr[-1500:]}
    try:
        start = proc.stdout.index("{")
        return {"status": "ok", "path": path, "seconds": took, "result": json.loads(proc.stdout[start:])}
    except ValueError:
        return {"status": "bad output", "path": path, "seconds": took, "stdout_tail": proc.stdout[-1500:]}


def _headline(name: str, result: dict) -> str:
    """The script's main figure for the table (beside its status), where one is known."""
    if name == "outbound" and "one_worker_actions_per_s_steady" in result:
        return (f"{result['one_worker_actions_per_s_steady']} actions/s (jira.rate {result['configured_rate_per_s']}), "
                f"POST→JSM p50/p95 {result['post_to_jsm_latency_p50_ms']}/{result['post_to_jsm_latency_p95_ms']} ms")
    return ""


def run(quick: bool = False) -> dict:
    """Every known script, smaller and shorter with --quick."""
    limit = 60 if quick else 120
    quick_args = {"sandbox": ["--bench-size", "5000", "--seconds", "2"],
                  "outbound": ["--actions", "100", "--latency-samples", "20"],
                  # Fourteen kinds of page since the administrator's and the big organisation's joined.
                  "portal": ["--rounds", "15"]} if quick else {}
    results = {name: run_script(path, limit, quick_args.get(name, [])) for name, path in SCRIPTS.items()}
    for name, out in results.items():
        if out.get("status") == "ok" and (headline := _headline(name, out["result"])):
            out["headline"] = headline
    return results
