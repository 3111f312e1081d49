"""Fixtures of the administration tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def cli_env(settings: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`companion` CLI commands run in this test see its install (database, secret key, Redis); returns its runtime."""
    monkeypatch.setenv("COMPANION_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("COMPANION_SECRET_KEY", settings.effective_secret_key)
    # The test's Redis: without it the CLI would start an embedded one that outlives the test.
    monkeypatch.setenv("COMPANION_REDIS_URL", settings.redis_url)
    monkeypatch.chdir(settings.data_dir)
    return runtime
