"""Benchmark the stand-in JSM: seed times and search/jql throughput over HTTP. Prints JSON.

Usage: .venv/bin/python bench/sandbox_bench.py [--bench-size 100000] [--seconds 5] [--threads 4]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.seed import apply_seed  # noqa: E402
from sandbox.state import SandboxState  # noqa: E402

AUTH = ("admin@sandbox.local", "sandbox-token")


@contextmanager
def served(seed: str):
    """`python -m sandbox` in its own process (so client threads do not share its GIL); yields the URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port), "--seed", seed], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                requests.get(f"{url}/_sandbox/state?requests=0", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def seed_seconds(seed: str) -> float:
    """Seconds to build a fresh state from `seed`."""
    return apply_seed(SandboxState(), seed, "admin@sandbox.local")


def search_rate(url: str, auth: tuple[str, str], params: dict, seconds: float, threads: int) -> dict:
    """Requests/s for GET /rest/api/3/search/jql with `params`, from `threads` keep-alive clients."""
    done: list[int] = [0] * threads
    errors: list[int] = [0] * threads
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        with requests.Session() as s:
            s.auth = auth
            while time.perf_counter() < stop:
                resp = s.get(f"{url}/rest/api/3/search/jql", params=params)
                done[i] += 1
                errors[i] += resp.status_code != 200

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    took = time.perf_counter() - started
    return {"requests": sum(done), "errors": sum(errors), "seconds": round(took, 2),
            "requests_per_second": round(sum(done) / took, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bench-size", type=int, default=100_000)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=4)
    args = p.parse_args(argv)
    out: dict = {"seed_seconds": {"demo": round(seed_seconds("demo"), 3),
                                  f"bench:{args.bench_size}": round(seed_seconds(f"bench:{args.bench_size}"), 3)}}
    out["search_jql"] = {}
    for seed in ("demo", f"bench:{args.bench_size}"):
        with served(seed) as url:
            since = time.strftime("%Y-%m-%d %H:%M", time.gmtime(time.time() - 7 * 86400))
            cases = {
                # What reconciliation sends: a bounded, ordered page of issues with the fields it applies.
                "reconcile_page_50": {"jql": f'project in (SUP, HELP) AND updated >= "{since}" '
                                             "ORDER BY updated ASC, key",
                                      "fields": "summary,status,priority,updated,created,reporter",
                                      "maxResults": 50},
                "ids_only_page_1000": {"jql": "project = SUP ORDER BY key", "fields": "id", "maxResults": 1000},
            }
            out["search_jql"][seed] = {name: search_rate(url, AUTH, params, args.seconds, args.threads)
                                       for name, params in cases.items()}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
