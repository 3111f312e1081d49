"""The security tests reuse the outbox tests' install wired to the stand-in JSM over HTTP; `strict_app` is an
install with the default second-factor policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.outbound.conftest import env, make_env  # noqa: F401


@pytest.fixture
def strict_app(tmp_path, database_url, redis_url, redis_client) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """An install with the default policy: admins and org admins must use a second factor."""
    from app import create_app

    settings = make_settings(tmp_path, database_url, redis_url, security={"require_totp_for_managers": True})
    application = create_app(settings, {"TESTING": True, "WTF_CSRF_ENABLED": False})
    yield application
    application.extensions["companion"].close()
