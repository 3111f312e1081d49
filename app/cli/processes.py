"""The long-running processes: web server, RQ worker, cron scheduler, and `run`, which supervises them all."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from app import create_app
from app.cli.demo import announce, create_demo_accounts
from app.cli.supervisor import Supervisor
from app.redaction import install_redaction
from app.webhooks import announce_webhook_policy
from sandbox.cli import SECRET_ENV as SANDBOX_SECRET_ENV

# sync.jobs imports every job's modules: most jobs run in a forked work-horse, which then inherits
# them instead of paying about a second of imports (the JSM client, SQLAlchemy models) per job.
from sync import telemetry
from sync.db import upgrade
from sync.jobs import register_cron, request_first_sync
from sync.logs import configure_logging
from sync.redis_conn import connect, ensure_embedded_redis, stop_embedded_redis
from sync.runtime import Runtime
from sync.scheduler import LeadingCronScheduler
from sync.settings import Settings, load_settings
from sync.worker import run_worker, unreachable

log = logging.getLogger("companion")


def _port(port: int | None) -> int:
    return port or int(os.environ.get("PORT", "5000"))


# gunicorn lets in-flight requests finish this long after SIGTERM; `run` waits a little longer for it.
GRACEFUL_SECONDS = 30
# By path: gevent must patch the master before the logger class pulls in the app (see the file).
GUNICORN_CONF = Path(__file__).resolve().parent.parent / "gunicorn_conf.py"
# Open connections one web worker holds at once (idle keep-alives and slow clients included).
WORKER_CONNECTIONS = 1000
# An RQ worker's warm shutdown finishes the job in hand; longer jobs are killed and their work resumes
# from the database (outbox leases, inbox rows), so nothing is lost, only redone.
WORKER_DRAIN_SECONDS = 60
# `run` warns once when the web has not answered /healthz this long after the start.
UP_WARNING_SECONDS = 60


def serve(settings: Settings, config: str | None, host: str, port: int | None, workers: int = 2) -> int:
    """Serve the web app with gunicorn's gevent worker, else Werkzeug.

    Evented: each connection is a greenlet, so clients that send their headers slowly (or never finish)
    hold no thread; 20 half-sent requests left gthread's 8 threads stuck and /healthz unanswerable.
    """
    port = _port(port)
    _export_config(config)
    telemetry.prepare(settings, clean=False)
    announce_webhook_policy(settings)
    try:
        import gunicorn  # noqa: F401
    except ImportError:  # e.g. Windows: gunicorn does not run there
        configure_logging(settings, "web")
        create_app(settings).run(host=host, port=port, threaded=True)
        return 0
    argv = gunicorn_argv(f"{host}:{port}", workers)
    os.execv(sys.executable, argv)
    return 0  # not reached


def gunicorn_argv(bind: str, workers: int, wsgi_app: str = "app.wsgi:application") -> list[str]:
    """The gunicorn command line of `serve` (the benchmarks serve their baselines with exactly this one)."""
    # No gunicorn access log: the app logs each request itself, with its request id (app.requestlog).
    return [sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", str(workers),
            "--worker-class", "gevent", "--worker-connections", str(WORKER_CONNECTIONS),
            "--timeout", "60", "--graceful-timeout", str(GRACEFUL_SECONDS),
            # Access lines name the URL: this logger redacts ?token= and share/one-time link tokens.
            "--logger-class", "app.cli.access_log.RedactingLogger",
            "--config", str(GUNICORN_CONF), wsgi_app]


def _export_config(config: str | None) -> None:
    # gunicorn's app.wsgi loads its settings itself: it must read the same file.
    if config:
        os.environ["COMPANION_CONFIG"] = str(Path(config).resolve())


def _with_metrics_dir(settings: Settings) -> None:
    """Re-execute this command once with PROMETHEUS_MULTIPROC_DIR set (see sync.telemetry)."""
    if not telemetry.enabled():
        telemetry.prepare(settings, clean=False)
        os.execv(sys.executable, [sys.executable, "-m", "app", *sys.argv[1:]])


def work(settings: Settings, queue_names: list[str], burst: bool = False) -> int:
    """Run one RQ worker: inbox drains in its process, other jobs in forked work-horses (sync.worker)."""
    _with_metrics_dir(settings)
    configure_logging(settings, "worker")
    install_redaction()
    runtime = Runtime(settings)
    problem = unreachable(runtime)
    if problem:
        print(f"companion worker: cannot start: {problem}", file=sys.stderr)
        return 2
    # Parse the active mapping once here too: forked work-horses inherit the cached object instead of
    # parsing YAML per job. Close the pool so no connection crosses the fork.
    runtime.mapping  # noqa: B018
    runtime.close()
    return run_worker(runtime, queue_names, burst=burst)


def schedule(settings: Settings) -> int:
    """Run the cron scheduler; of all that run, the one holding the Redis lease enqueues (sync.scheduler)."""
    _with_metrics_dir(settings)
    configure_logging(settings, "scheduler")
    install_redaction()
    runtime = Runtime(settings)
    cron = LeadingCronScheduler(connection=runtime.redis)
    register_cron(cron, settings)
    cron.start()
    return 0


def _wait_http(url: str, timeout: float, given_up: Callable[[], bool] = lambda: False) -> bool:
    """Poll `url` until it answers below 500; False after `timeout` seconds or once `given_up()` is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not given_up():
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
    """Migrate, then start and supervise web + worker + scheduler (+ stand-in JSM) until SIGTERM/Ctrl-C."""
    configure_logging(settings, "supervisor")
    install_redaction()
    port = _port(port)
    telemetry.prepare(settings, clean=True)  # a fresh start: no counters of processes from a previous run
    env = dict(os.environ)
    started_redis = False
    if not settings.redis_url:
        url, started_redis = ensure_embedded_redis(settings.data_dir)
        env["COMPANION_REDIS_URL"] = url
        log.info("embedded Redis at %s", url)
    upgrade(settings.effective_database_url)
    supervisor = Supervisor(config, env)
    supervisor.install_signal_handlers()
    # Stopped in this order: the web stops taking work first, the stand-in JSM last.
    supervisor.add("web", ["serve", "--host", host, "--port", str(port)], GRACEFUL_SECONDS + 5)
    supervisor.add("scheduler", ["scheduler"], 10)
    supervisor.add("worker", ["worker"], WORKER_DRAIN_SECONDS)
    if settings.jira.is_sandbox:
        sandbox_args, sandbox_env = sandbox_command(settings, port, env)
        # The stand-in signs with the install's secret, handed over by environment (never argv).
        if SANDBOX_SECRET_ENV in sandbox_env:
            supervisor.env[SANDBOX_SECRET_ENV] = sandbox_env[SANDBOX_SECRET_ENV]
        supervisor.add("sandbox", sandbox_args, 5)
    # The main thread supervises from the first child on: a child that dies while the web is still
    # starting is restarted, and Ctrl-C is honoured at once, however long the start-up greeting takes.
    threading.Thread(target=_greet_when_up, args=(settings, config, env, host, port, supervisor),
                     name="start-up", daemon=True).start()
    try:
        supervisor.supervise()
    finally:
        supervisor.stop()
        if started_redis:
            stop_embedded_redis(settings.data_dir)
        log.info("stopped")
    return 0


def _greet_when_up(settings: Settings, config: str | None, env: dict[str, str], host: str, port: int,
                   supervisor: Supervisor) -> None:
    """Once the web answers: say so and, against the stand-in JSM, set up the demo (a start-up thread)."""
    healthz = f"http://127.0.0.1:{port}/healthz"
    slow_warned = False
    def stopping() -> bool:
        return supervisor.stopping

    while not _wait_http(healthz, UP_WARNING_SECONDS, stopping):
        if supervisor.stopping:
            return
        if not slow_warned:  # a loaded machine or a web crashing at start (its exits are logged)
            log.warning("the web has not answered %s for %d s; still waiting", healthz, UP_WARNING_SECONDS)
            slow_warned = True
    log.info("JSM Companion is up: http://%s:%s/  (Ctrl-C stops everything)", host, port)
    if settings.jira.is_sandbox and not supervisor.stopping:
        _demo_accounts(config, host, port, stopping)
        _first_sync(config, env)


def _demo_accounts(config: str | None, host: str, port: int, given_up: Callable[[], bool]) -> None:
    """In sandbox mode on a new install, create demo sign-ins matching the stand-in's customers."""
    runtime = Runtime(load_settings(config))
    try:
        if not _wait_http(f"{runtime.settings.jira.site_url}/rest/api/2/serverInfo", 30, given_up):
            log.warning("the stand-in JSM did not answer; no demo accounts created")
            return
        announce(create_demo_accounts(runtime), f"http://{host}:{port}/", runtime.settings.totp_required_for_managers)
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
