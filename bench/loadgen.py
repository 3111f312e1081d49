"""Load generator, run as its own process (`python -m bench.loadgen`), so it never shares the server's GIL.

`burst`: C threads POST N signed webhooks as fast as answers come (bounded by N and seconds).
`steady`: one webhook every 1/R s for T s; sampled events are polled through the tickets API until
visible (freshness), each sample's wall-clock times (sent, answered, seen) listed under its delivery id
so the caller can place the server's own timestamps between them. Loopback only. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import threading
import time
from urllib.parse import urlsplit

from bench.env import SECRET, percentile

BASE_MS = 1_767_261_600_000


def webhook(i: int, tickets: int, marker: str | None = None) -> bytes:
    """A Cloud `jira:issue_updated` body; `updated` grows with i so every event is newer than the last."""
    n = i % tickets + 1
    fields = {"summary": marker or f"Bench {n}", "project": {"key": "SUP"},
              "status": {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}},
              "priority": {"id": "3", "name": "Medium"}, "issuetype": {"name": "Incident"},
              "created": "2026-01-01T00:00:00.000+0000",
              "updated": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((BASE_MS + i) // 1000))
              + f".{(BASE_MS + i) % 1000:03d}+0000",
              "reporter": {"accountId": f"acc-{n}", "displayName": "Customer"}}
    body = {"timestamp": BASE_MS + i, "webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_generic",
            "user": {"accountId": "agent"}, "issue": {"id": str(100000 + n), "key": f"SUP-{n}", "fields": fields},
            "changelog": {"id": str(1_000_000 + i), "items": [{"field": "status", "fieldId": "status", "from": "1",
                                                              "to": "3", "toString": "In Progress"}]}}
    return json.dumps(body).encode()


def headers(body: bytes, i: int, delivery: str | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json",
            "X-Atlassian-Webhook-Identifier": delivery or f"bench-{time.time_ns()}-{i}",
            "X-Hub-Signature": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}


def _connection(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    assert parts.hostname in ("127.0.0.1", "localhost"), "load goes to loopback only"
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)


def post(conn: http.client.HTTPConnection, body: bytes, i: int, delivery: str | None = None) -> int:
    conn.request("POST", "/webhooks/jira", body=body, headers=headers(body, i, delivery))
    response = conn.getresponse()
    response.read()
    return response.status


BULK_OFFSET = 1_000_000  # a bulk edit's events are newer than any steady one (and a multiple of its size)


def burst(url: str, count: int, threads: int, seconds: float, tickets: int, marker: str | None = None) -> dict:
    """`marker`: one Jira bulk edit, every ticket 1..count once with that summary (newer than all before)."""
    bodies = [webhook(BULK_OFFSET + i, count, marker) if marker else webhook(i, tickets) for i in range(count)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock, next_i = threading.Lock(), iter(range(count))
    deadline = time.monotonic() + seconds

    def run() -> None:
        conn = _connection(url)
        while time.monotonic() < deadline:
            with lock:
                i = next(next_i, None)
            if i is None:
                return
            start = time.perf_counter()
            try:
                status = post(conn, bodies[i], i)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn, status = _connection(url), 599
            with lock:
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    took = time.perf_counter() - started
    return {"requests": len(latencies), "seconds": round(took, 3), "rps": round(len(latencies) / took, 1),
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
            "statuses": {str(k): v for k, v in statuses.items()}, "threads": threads}


def steady(url: str, rate: float, seconds: float, tickets: int, tokens: list[str], sample_every: int) -> dict:
    """`tokens`: the samples' polls take them in turn (each token has a rate limit of its own)."""
    count = int(rate * seconds)
    fresh: list[float] = []
    # Per sample, wall-clock seconds (comparable with the server's log and database timestamps).
    traces: dict[str, dict[str, float]] = {}
    errors = {"post": 0, "timeout": 0}
    polls: dict[int, int] = {}  # answers to the API polls by status
    lock = threading.Lock()
    samplers: list[threading.Thread] = []
    run = time.time_ns()

    def watch(i: int, key: str, sent: float, trace: dict[str, float]) -> None:
        conn = _connection(url)
        auth = {"Authorization": f"Bearer {tokens[i // sample_every % len(tokens)]}"}
        while time.perf_counter() - sent < 30:
            asked = time.time()
            conn.request("GET", f"/api/v1/tickets/{key}", headers=auth)
            response = conn.getresponse()
            data = response.read()
            with lock:
                polls[response.status] = polls.get(response.status, 0) + 1
            if response.status == 200:
                summary = json.loads(data).get("summary", "")
                if summary.startswith("m-") and int(summary[2:]) >= i:
                    trace["asked"], trace["seen"] = asked, time.time()
                    with lock:
                        fresh.append(time.perf_counter() - sent)
                    return
            time.sleep(0.01)
        with lock:
            errors["timeout"] += 1

    # A slow answer must not hold up the schedule: events go out from several connections, enough that
    # 200/s holds while an answer takes up to 80 ms (4 connections fell behind at 20 ms, on a loaded machine).
    senders = 16
    start = time.perf_counter() + 0.2

    def send(k: int) -> None:
        conn = _connection(url)
        for i in range(k, count, senders):
            if (delay := start + i / rate - time.perf_counter()) > 0:
                time.sleep(delay)
            body = webhook(i, tickets, marker=f"m-{i}")
            delivery = f"bench-{run}-{i}"
            sampled = i % sample_every == 0 and i >= tickets  # every ticket exists by then: a change, not a creation
            sent, sent_wall = time.perf_counter(), time.time()
            try:
                if post(conn, body, i, delivery) != 202:
                    errors["post"] += 1
                    sampled = False
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = _connection(url)
                errors["post"] += 1
                sampled = False
            if sampled:
                trace = {"sent": sent_wall, "answered": time.time()}
                t = threading.Thread(target=watch, args=(i, f"SUP-{i % tickets + 1}", sent, trace))
                t.start()
                with lock:
                    traces[delivery] = trace
                    samplers.append(t)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    achieved = count / (time.perf_counter() - start)
    for t in samplers:
        t.join()
    return {"events": count, "target_rate": rate, "achieved_rate": round(achieved, 1), "samples": len(fresh),
            "p50_ms": round((percentile(fresh, 0.5) or 0) * 1000, 1),
            "p95_ms": round((percentile(fresh, 0.95) or 0) * 1000, 1), "errors": errors,
            "poll_statuses": {str(k): v for k, v in sorted(polls.items())}, "traces": traces}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["burst", "steady"])
    parser.add_argument("url")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--token", default="", help="steady: API token(s) for the polls, comma-separated")
    parser.add_argument("--sample-every", type=int, default=10)
    parser.add_argument("--marker", help="burst: a bulk edit setting this summary on tickets 1..count")
    args = parser.parse_args()
    if args.mode == "burst":
        out = burst(args.url, args.count, args.threads, args.seconds, args.tickets, args.marker)
    else:
        out = steady(args.url, args.rate, args.seconds, args.tickets, args.token.split(","), args.sample_every)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
