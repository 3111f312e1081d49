"""Backup and restore (README runbook): pg_dump → restore into a fresh database → one reconcile → whole again."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app.cli import main
from sync.models import Comment, Ticket
from sync.runtime import Runtime
from tests.conftest import _empty_tables as empty_tables

TOOLS = ("pg_dump", "pg_restore")


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _portal(runtime: Runtime) -> dict[str, tuple[str | None, int]]:
    """What the portal shows per request: its Jira status and its number of public comments."""
    with runtime.sessions() as db:
        tickets = db.scalars(select(Ticket).where(Ticket.deleted.is_(False))).all()
        return {t.key: (t.jira_status_name, len(db.scalars(select(Comment).where(
            Comment.ticket_id == t.id, Comment.public.is_(True), Comment.deleted.is_(False))).all()))
            for t in tickets}


@pytest.mark.postgres
@pytest.mark.slow
def test_a_restored_backup_plus_one_reconcile_is_whole_again(make_env, postgres_url, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian: apt-get install postgresql-client)")
    empty_tables(postgres_url)  # the run's PostgreSQL database is shared by its tests
    env = make_env(postgres_url)
    keys = [env.raise_request() for _ in range(3)]
    assert env.client.post(f"/api/v1/tickets/{keys[0]}/comments", json={"body": "before the backup"},
                           headers=env.headers()).status_code == 202
    env.push_all()

    dump = tmp_path / "companion.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _libpq(postgres_url)],
                   check=True, capture_output=True, timeout=120)
    # Life goes on in JSM after the backup: a new request, a status change, a support comment.
    keys.append(env.raise_request())
    env.sandbox_post(f"/_sandbox/requests/{keys[1]}/transition", {"status": "In Progress"})
    env.sandbox_post(f"/_sandbox/requests/{keys[2]}/comment", {"body": "From support", "public": True})

    restored_name = f"companion_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{restored_name}"'))
    restored_url = make_url(postgres_url).set(database=restored_name).render_as_string(hide_password=False)
    try:
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={_libpq(restored_url)}", str(dump)],
                       check=True, capture_output=True, timeout=120)
        for name, value in {"DATABASE_URL": restored_url, "REDIS_URL": env.settings.redis_url,
                            "DATA_DIR": str(tmp_path), "SECRET_KEY": "test", "JIRA_BASE_URL": env.sb.url,
                            "JIRA_EMAIL": env.sb.email, "JIRA_API_TOKEN": env.sb.token,
                            "JIRA_ALLOW_UNSIGNED_WEBHOOKS": "true"}.items():
            monkeypatch.setenv(f"COMPANION_{name}", value)
        monkeypatch.chdir(tmp_path)
        assert main(["db", "upgrade"]) == 0  # a backup of an older release is migrated first
        assert main(["reconcile"]) == 0

        restored = Runtime(env.settings.model_copy(update={"database_url": restored_url}))
        try:
            jsm = env.sandbox_state()["requests"]
            expected = {k: (r["status"], len(r["public_comments"])) for k, r in jsm.items() if not r["deleted"]}
            assert _portal(restored) == expected
        finally:
            restored.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)'))
        admin.dispose()
