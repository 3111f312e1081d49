"""The long-running processes: web server, RQ worker, cron scheduler, and `run`, which supervises them all."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from rq.cron import CronScheduler

from app import create_app
from app.cli.demo import announce, create_demo_accounts
from app.redaction import install_redaction
from app.webhooks import announce_webhook_policy
from sandbox.cli import SECRET_ENV as SANDBOX_SECRET_ENV
from sync.db import upgrade

# sync.jobs imports every job's modules: each job runs in a forked work-horse, which then inherits
# them instead of paying about a second of imports (the JSM client, SQLAlchemy models) per job.
from sync.jobs import register_cron, request_first_sync
from sync.redis_conn import connect, ensure_embedded_redis, stop_embedded_redis
from sync.runtime import Runtime
from sync.settings import Settings, load_settings
from sync.worker import make_worker

log = logging.getLogger("companion")


def _port(port: int | None) -> int:
    return port or int(os.environ.get("PORT", "5000"))


def serve(settings: Settings, config: str | None, host: str, port: int | None, workers: int = 2) -> int:
    """Serve the web app with gunicorn (threads for I/O-bound requests), else Werkzeug."""
    port = _port(port)
    _export_config(config)
    announce_webhook_policy(settings)
    try:
        import gunicorn  # noqa: F401
    except ImportError:  # e.g. Windows: gunicorn does not run there
        create_app(settings).run(host=host, port=port, threaded=True)
        return 0
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
            "--threads", "8", "--timeout", "60", "--graceful-timeout", "10", "--access-logfile", "-",
            # Access lines name the URL: this logger redacts ?token= and share/one-time link tokens.
            "--logger-class", "app.cli.access_log.RedactingLogger", "app.wsgi:application"]
    os.execv(sys.executable, argv)
    return 0  # not reached


def _export_config(config: str | None) -> None:
    # gunicorn's app.wsgi loads its settings itself: it must read the same file.
    if config:
        os.environ["COMPANION_CONFIG"] = str(Path(config).resolve())


def work(settings: Settings, queue_names: list[str], burst: bool = False) -> int:
    """Run one RQ worker; each job runs in a forked work-horse, so a crash loses only that attempt."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction()
    runtime = Runtime(settings)
    # Parse the active mapping once here too: forked work-horses inherit the cached object instead of
    # parsing YAML per job. Close the pool so no connection crosses the fork.
    runtime.mapping  # noqa: B018
    runtime.close()
    worker = make_worker(runtime, queue_names)  # hands every job this runtime
    worker.work(burst=burst, with_scheduler=False, logging_level="INFO")
    return 0


def schedule(settings: Settings) -> int:
    """Run RQ's cron scheduler: the sweeper every 30 s and reconciliation on `sync.reconcile_cron`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction()
    runtime = Runtime(settings)
    cron = CronScheduler(connection=runtime.redis)
    register_cron(cron, settings)
    cron.start()
    return 0


def _child(args: list[str], config: str | None, env: dict[str, str]) -> subprocess.Popen[bytes]:
    base = [sys.executable, "-m", "app"] + (["--config", config] if config else [])
    return subprocess.Popen(base + args, env=env)


def _wait_http(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return True
        except urllib.error.HTTPError as error:
            if error.code < 500:  # e.g. 401 from the stand-in JSM: it answers, so it is up
                return True
            time.sleep(0.2)
        except OSError:
            time.sleep(0.2)
    return False


def sandbox_command(settings: Settings, port: int, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The stand-in JSM's `companion` arguments and environment: it signs with the install's secret."""
    webhook_url = f"http://127.0.0.1:{port}/webhooks/jira"
    args = ["sandbox", "--port", str(settings.jira.sandbox_port), "--seed", "demo",
            "--deployment", settings.jira.deployment, "--webhook-url", webhook_url]
    # The secret goes by environment, not argv: any local user can read another process's argv (ps).
    child_env = dict(env)
    if settings.webhook_secrets:
        child_env[SANDBOX_SECRET_ENV] = settings.webhook_secrets[0]
    return args, child_env


def run_all(settings: Settings, config: str | None, host: str, port: int | None) -> int:
    """Migrate, then start and supervise web + worker + scheduler (+ stand-in JSM); stop all on Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction()
    port = _port(port)
    env = dict(os.environ)
    started_redis = False
    if not settings.redis_url:
        url, started_redis = ensure_embedded_redis(settings.data_dir)
        env["COMPANION_REDIS_URL"] = url
        log.info("embedded Redis at %s", url)
    upgrade(settings.effective_database_url)
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    if settings.jira.is_sandbox:
        sandbox_args, sandbox_env = sandbox_command(settings, port, env)
        children.append(("sandbox", _child(sandbox_args, config, sandbox_env)))
    children.append(("web", _child(["serve", "--host", host, "--port", str(port)], config, env)))
    children.append(("worker", _child(["worker"], config, env)))
    children.append(("scheduler", _child(["scheduler"], config, env)))

    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    exit_code = 0
    try:
        if _wait_http(f"http://127.0.0.1:{port}/healthz", 60):
            log.info("JSM Companion is up: http://%s:%s/  (Ctrl-C stops everything)", host, port)
            if settings.jira.is_sandbox:
                _demo_accounts(config, host, port)
                _first_sync(config, env)
        while not stopping:
            for name, child in children:
                if child.poll() is not None:
                    log.error("%s exited with code %s; stopping the others", name, child.returncode)
                    stopping, exit_code = True, 1
            time.sleep(0.5)
    finally:
        for _name, child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _name, child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        if started_redis:
            stop_embedded_redis(settings.data_dir)
        log.info("stopped")
    return exit_code


def _demo_accounts(config: str | None, host: str, port: int) -> None:
    """In sandbox mode on a new install, create demo sign-ins matching the stand-in's customers."""
    runtime = Runtime(load_settings(config))
    if not _wait_http(f"{runtime.settings.jira.site_url}/rest/api/2/serverInfo", 30):
        log.warning("the stand-in JSM did not answer; no demo accounts created")
        return
    try:
        announce(create_demo_accounts(runtime), f"http://{host}:{port}/")
    except Exception as exc:  # a demo convenience must never stop the service
        log.warning("could not create demo accounts: %s", exc)
    finally:
        runtime.close()


def _first_sync(config: str | None, env: dict[str, str]) -> None:
    """In sandbox mode, mirror the demo data at once instead of waiting for the first cron reconcile."""
    settings = load_settings(config)
    try:
        request_first_sync(connect(settings))
        log.info("first full reconcile of the stand-in JSM enqueued")
    except Exception as exc:  # the portal still runs; the cron reconcile catches up
        log.warning("could not enqueue the first reconcile: %s", exc)
