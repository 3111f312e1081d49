"""`make bench` / `python -m bench [--quick] [--only NAME ...] [--scale N]`: a table and bench/results/latest.json.

    python -m bench --quick                               # every figure, small (under 5 minutes)
    python -m bench --only reconcile --scale 100000       # a big site's full reconcile
    python -m bench --only portal --scale 1000000         # the portal at a million tickets (PostgreSQL)
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.env import ROOT, bench_env

RESULTS = ROOT / "bench" / "results"


OURS = ("ingest", "apply", "freshness", "notify", "economy", "reproject", "reconcile", "limits")


def _ours(name: str, quick: bool, scale: int | None, rate: float | None = None) -> dict:
    from bench import apply, economy, freshness, ingest, limits_bench, notify_bench, reconcile_bench, reproject

    module = {"ingest": ingest, "apply": apply, "freshness": freshness, "economy": economy,
              "reproject": reproject, "notify": notify_bench, "reconcile": reconcile_bench,
              "limits": limits_bench}[name]
    with bench_env() as env:  # a fresh database and Redis db for each, so none sees another's rows
        if name == "reconcile" and (scale or rate):
            return reconcile_bench.run(env, quick=quick, tickets=scale, **({"rate": rate} if rate else {}))
        return module.run(env, quick=quick)


def _portal(quick: bool, scale: int | None) -> dict:
    """bench/portal_bench.py on PostgreSQL at `scale` tickets (one organisation per 100), COPY-filled."""
    from bench import others
    from bench.env import postgres_base

    args = ["--tickets", str(scale), "--orgs", str(max(1, scale // 100))] if scale else []
    args += ["--rounds", "15"] if quick else []
    base = postgres_base()
    if base:
        args += ["--database-url", base]
    return others.run_script(others.SCRIPTS["portal"], 3600 if scale else (60 if quick else 120), args)


def _guarded(fn: Callable[[], dict]) -> dict:
    started = time.monotonic()
    try:
        out = fn()
        out.setdefault("seconds_total", round(time.monotonic() - started, 1))
        return out
    except Exception as exc:  # a broken benchmark is reported in the results, not hidden
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-2000:]}


def table(results: dict[str, Any]) -> str:
    """The headline numbers, one line each."""
    rows: list[tuple[str, str, str, str]] = []
    r = results.get("ingest", {})
    if "companion" in r:
        levels = [(r.get("connections"), r)] + [(int(key.split("_")[1]), value) for key, value in r.items()
                                                if key.startswith("at_") and isinstance(value, dict)]
        for connections, at in levels:
            c, b, n = at["companion"], at["bare_flask"], at["naive_durable"]
            suffix = f" ({connections} conns)" if connections else ""
            rows.append((f"ingest req/s{suffix}", f"{c['rps']}", f"bare {b['rps']}", f"ratio {at['ratio_rps']}"))
            rows.append((f"ingest p50/p99 ms{suffix}", f"{c['p50_ms']}/{c['p99_ms']}",
                         f"bare {b['p50_ms']}/{b['p99_ms']}", f"{c.get('rows_per_commit')} rows/commit"))
            rows.append((f"ingest req/s vs naive durable{suffix}", f"{c['rps']}", f"1 commit/request {n['rps']}",
                         f"ratio {at['ratio_to_naive_durable']}"))
    r = results.get("apply", {})
    if "apply_eps" in r:
        rows.append((f"apply events/s ({r['database']})", f"{r['apply_eps']}", f"raw upsert {r['raw_upsert_eps']}",
                     f"ratio {r['ratio']}"))
        if r.get("set_upsert_eps"):
            rows.append((f"apply events/s vs set-based write ({r['database']})", f"{r['apply_eps']}",
                         f"1 statement/batch {r['set_upsert_eps']}", f"ratio {r['ratio_to_set_upsert']}"))
    r = results.get("freshness", {})
    if "p50_ms" in r:
        rows.append((f"freshness p50/p95 ms @{r['target_rate']}/s", f"{r['p50_ms']}/{r['p95_ms']}",
                     f"achieved {r['achieved_rate']}/s", f"{r['samples']} samples"))
        if "bulk_edit" in r:
            b = r["bulk_edit"]
            rows.append((f"bulk edit of {b['events']} tickets: all visible s", str(b["all_visible_s"]),
                         f"sent in {b['sent_s']} s", f"API confirmed {b['api_confirmed']}"))
    r = results.get("notify", {})
    if "throughput" in r:
        t, d = r["throughput"], r["webhook_to_smtp"]
        rows.append(("e-mails/s through local SMTP", f"{t['mails_per_s']}", f"{t['sent']}/{t['mails']} sent", ""))
        rows.append(("webhook → SMTP accepted p50/p95 ms", f"{d['p50_ms']}/{d['p95_ms']}",
                     f"webhook → portal {d['freshness_p50_ms']}/{d['freshness_p95_ms']} (same webhooks)",
                     f"{d['mails_seen']}/{d['webhooks']} mails, coalescing 0"))
    r = results.get("economy", {})
    if "full_reconcile" in r:
        f = r["full_reconcile"]
        rows.append((f"reconcile calls ({f['tickets']} tickets)", str(f["jsm_calls"]), f"minimum {f['minimum_calls']}",
                     f"ratio {f['ratio_to_minimum']}"))
        for deployment, kinds in r["per_inbound_event"].items():
            worst = max((v["calls_per_event"] for v in kinds.values()), default=0)
            rows.append((f"JSM calls per event ({deployment})", f"max {worst}", "minimum 0", ""))
        if "sla" in r:
            w, c = r["sla"]["per_webhook_events"], r["sla"]["per_full_reconcile"]
            rows.append(("SLA calls per 1,000 webhook events", str(w["sla_calls_per_1000_events"]),
                         f"minimum {w['minimum_per_1000_events']}", "naive 1000"))
            rows.append((f"SLA calls per full reconcile ({c['tickets']} tickets)",
                         f"{c['first']['sla_calls']} then {c['unchanged_again']['sla_calls']}",
                         f"minimum {c['first']['minimum_calls']} then 0", f"naive {c['tickets']}"))
    r = results.get("reconcile", {})
    if "jsm_calls" in r:
        rows.append((f"full reconcile of {r['tickets']} tickets: JSM calls", str(r["jsm_calls"]),
                     f"minimum {r['minimum_calls']}", f"ratio {r['ratio_to_minimum']}"))
        rows.append(("full reconcile wall s", str(r["wall_s"]), f"calls ÷ rate {r['calls_over_rate_s']}",
                     f"ratio {r['wall_ratio_to_calls_over_rate']}"))
        rows.append(("full reconcile worker peak RSS MB", str(r["peak_rss_mb"]), f"bound {r['rss_bound_mb']}", ""))
        if "per_page" in r:
            p = r["per_page"]
            rows.append(("full reconcile ms per page: apply / fetch wait", f"{p['apply_ms']} / {p['fetch_wait_ms']}",
                         f"1/rate {p['budget_ms_at_rate']}", f"wall {p['wall_ms']}"))
            cpu = " + ".join(f"{name} {ms}" for name, ms in p["cpu_ms"].items())
            rows.append(("full reconcile CPU ms per page", cpu, f"÷ {p['cpus']} cores {p['two_cores_floor_ms']}",
                         f"1/rate {p['budget_ms_at_rate']}"))
            if "worker_runqueue_wait_ms" in p:
                rows.append(("full reconcile worker waiting for a core, ms per page", str(p["worker_runqueue_wait_ms"]),
                             f"load average {p['load_average_before_after']}", ""))
        if "again_unchanged" in r:
            a = r["again_unchanged"]
            rows.append(("full reconcile again, nothing changed: wall s", str(a["wall_s"]),
                         f"calls ÷ rate {a['calls_over_rate_s']}", f"ratio {a['wall_ratio_to_calls_over_rate']}"))
    r = results.get("limits", {})
    if "outbound_burst_one_request" in r:
        o, w = r["outbound_burst_one_request"], r["baseline_without_per_issue_bucket"]
        q = r["search_under_cloud_limits"]
        rows.append((f"cloud_limits: per-issue refusals, {o['writes']} writes on one request",
                     str(o["refused_per_issue"]), f"without per-issue bucket {w['refused_per_issue']}",
                     f"{o['seconds']} s vs {w['seconds']} s"))
        bound = "" if q.get("bound_by", "throttle") == "throttle" else " (fetch-bound: never throttled)"
        rows.append((f"cloud_limits: search calls/s once the throttle binds{bound}",
                     str(q.get("achieved_rate", q["achieved_steady_rate"])),
                     f"configured {q['configured_rate']}", f"ratio {q['ratio_to_configured']}"))
    r = results.get("portal", {})
    if r.get("status") == "ok":
        p = r["result"]
        floor = p["results"].get("floor", {}).get("p95_ms", "?")
        for page, figure in p["results"].items():
            rows.append((f"portal {page} p50/p95 ms ({p['tickets']} tickets)",
                         f"{figure['p50_ms']}/{figure['p95_ms']}", f"floor p95 {floor}",
                         f"{figure['queries']} queries"))
    r = results.get("reproject", {})
    if "publish_s" in r:
        rows.append((f"re-projection of {r['tickets']} tickets ({r['database']})", f"{r['publish_s']} s",
                     f"full-table UPDATE {r['baseline_full_update_s']} s", f"ratio {r['publish_ratio_to_baseline']}"))
        rows.append(("mapping preview", f"{r['preview_s']} s", f"{r['preview_changes']} changes", ""))
    for name, other in results.get("others", {}).items():
        rows.append((f"{name} bench script", other.get("status", "?"), f"{other.get('seconds', '')} s",
                     other.get("headline", "")))
    for name in OURS:
        if results.get(name, {}).get("status") == "error":
            rows.append((name, "ERROR", results[name]["error"][:60], ""))
    widths = [max(len(row[i]) for row in rows) if rows else 0 for i in range(4)]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smaller, shorter runs")
    parser.add_argument("--only", nargs="*", choices=[*OURS, "others", "portal"])
    parser.add_argument("--scale", type=int, help="tickets for `reconcile` and `portal` (e.g. 100000, 1000000)")
    parser.add_argument("--rate", type=float, help="jira.rate.per_second for `reconcile` (default 20)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # `portal` alone is opt-in (a million tickets take minutes to fill); `others` runs it at its default size.
    wanted = args.only or [*OURS, "others"]
    results: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(), "quick": args.quick,
                               "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()}}
    for name in wanted:
        print(f"… {name}", flush=True)
        if name == "others":
            from bench import others

            results["others"] = others.run(quick=args.quick)
        elif name == "portal":
            results["portal"] = _portal(args.quick, args.scale)
        else:
            results[name] = _guarded(lambda n=name: _ours(n, args.quick, args.scale, args.rate))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    print(table(results))
    print(f"\nwritten: {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
