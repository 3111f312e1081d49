"""Data files readable by the owner alone; secrets masked in every URL check-config prints."""

from __future__ import annotations

import stat
from pathlib import Path

from sync.db import make_engine
from sync.settings import Settings


def test_a_new_sqlite_database_file_is_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "companion.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        connection.exec_driver_sql("create table t (x int)")
        connection.commit()
    engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_check_config_masks_passwords_in_url_query_strings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k" * 20,
                        database_url="postgresql+psycopg://db.example/companion?user=app&password=hunter2",
                        redis_url="redis://:s3cret@redis.example:6379/0",
                        jira={"allow_unsigned_webhooks": True})
    masked = settings.masked()
    printed = str(masked)
    assert "hunter2" not in printed and "s3cret" not in printed
    assert masked["database_url"] == "postgresql+psycopg://db.example/companion?user=app&password=***"
