"""Webhooks fail closed: no secret, no delivery, unless unsigned ones are allowed in so many words."""

from __future__ import annotations

import logging
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli.processes import sandbox_command
from app.webhooks import announce_webhook_policy
from sandbox.cli import build_parser
from sync.models import Ticket, utcnow
from sync.settings import ConfigError, Settings, load_settings
from tests.conftest import make_settings
from tests.helpers import drain, issue_payload, post_webhook

SITE = {"base_url": "https://acme.atlassian.net", "email": "a@acme.test", "api_token": "t"}
NEW, OLD = "the-new-secret-0123456789", "the-old-secret-0123456789"


def _app(settings: Settings):  # type: ignore[no-untyped-def]
    from app import create_app

    return create_app(settings, {"TESTING": True})


@pytest.mark.parametrize(("secret", "message"), [
    (None, "jira.webhook_secret: required for a real site"),
    ("", "jira.webhook_secret: required for a real site"),
    ("   ", "jira.webhook_secret: required for a real site"),
    ("short-secret", "jira.webhook_secret: must be at least 16 bytes"),
])
def test_a_missing_empty_or_short_secret_is_a_configuration_error(tmp_path: Path, secret: str | None,
                                                                   message: str) -> None:
    jira = dict(SITE) | ({"webhook_secret": secret} if secret is not None else {})
    with pytest.raises(ConfigError) as error:
        load_settings(data_dir=tmp_path, jira=jira)
    assert message in str(error.value)


def test_an_unset_templated_environment_secret_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_JIRA_WEBHOOK_SECRET", "")
    with pytest.raises(ConfigError, match=r"^jira\.webhook_secret: required"):
        load_settings(data_dir=tmp_path, jira=SITE)


def test_a_short_secret_is_refused_even_in_sandbox_mode(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^jira\.webhook_secret: must be at least 16 bytes"):
        load_settings(data_dir=tmp_path, jira={"webhook_secret": "0123456789abcde"})  # 15 bytes


def test_previous_secret_needs_a_current_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^jira\.webhook_secret_previous: "):
        load_settings(data_dir=tmp_path, jira=SITE | {"webhook_secret_previous": OLD, "allow_unsigned_webhooks": True})


def test_sandbox_mode_generates_a_private_secret_and_refuses_unsigned(tmp_path: Path, database_url: str,
                                                                     redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, redis_url=redis_url,
                        secret_key="k")
    app = _app(settings)
    client = app.test_client()
    path = tmp_path / "data" / "webhook_secret"
    secret = path.read_text().strip()
    assert len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert post_webhook(client, issue_payload(), secret=None).status_code == 401
    assert post_webhook(client, issue_payload(), secret="x" * 32).status_code == 401
    assert post_webhook(client, issue_payload(), secret=secret).status_code == 202
    # Every process of the install (and the stand-in it starts) reads the same secret.
    assert Settings(data_dir=tmp_path / "data").webhook_secrets == (secret,)
    app.extensions["companion"].close()


def test_the_stand_in_gets_the_secret_by_environment_not_argv(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path)
    secret = settings.webhook_secrets[0]
    args, env = sandbox_command(settings, 5000, {"PATH": os.environ["PATH"]})
    assert secret not in " ".join(args)
    assert env["SANDBOX_WEBHOOK_SECRET"] == secret
    monkeypatch.setenv("SANDBOX_WEBHOOK_SECRET", secret)
    assert build_parser().parse_args([]).webhook_secret == secret


def test_explicitly_allowed_unsigned_webhooks_are_accepted_and_announced(
        tmp_path: Path, database_url: str, redis_url: str, redis_client,  # type: ignore[no-untyped-def]
        caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(tmp_path, database_url, redis_url, jira={"allow_unsigned_webhooks": True})
    app = _app(settings)
    assert post_webhook(app.test_client(), issue_payload(), secret=None).status_code == 202
    with caplog.at_level(logging.INFO):
        announce_webhook_policy(settings)
    assert any("UNSIGNED WEBHOOKS ACCEPTED" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)
    assert any("jira.projects is empty" in r.getMessage() for r in caplog.records)
    app.extensions["companion"].close()


def test_with_a_secret_nothing_unsigned_gets_in_even_when_unsigned_is_allowed(
        tmp_path: Path, database_url: str, redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, database_url, redis_url,
                             jira={"allow_unsigned_webhooks": True, "webhook_secret": NEW})
    app = _app(settings)
    client = app.test_client()
    assert post_webhook(client, issue_payload(), secret=None).status_code == 401
    assert post_webhook(client, issue_payload(), secret=NEW).status_code == 202
    app.extensions["companion"].close()


def test_two_secrets_are_active_during_rotation(tmp_path: Path, database_url: str, redis_url: str,
                                                redis_client) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, database_url, redis_url,
                             jira={"webhook_secret": NEW, "webhook_secret_previous": OLD})
    app = _app(settings)
    client = app.test_client()
    assert post_webhook(client, issue_payload(), secret=NEW, delivery_id="n").status_code == 202
    assert post_webhook(client, issue_payload(), secret=OLD, delivery_id="o").status_code == 202
    assert post_webhook(client, issue_payload(), secret="a-third-secret-0123456789", delivery_id="x").status_code == 401
    body = b'{"webhookEvent": "jira:issue_updated", "issue": {"id": 1, "key": "SUP-1"}}'
    assert client.post(f"/webhooks/jira?token={OLD}", data=body).status_code == 202
    app.extensions["companion"].close()


def test_a_future_dated_event_cannot_freeze_a_ticket(app, client, runtime) -> None:  # type: ignore[no-untyped-def]
    post_webhook(client, issue_payload(summary="forged", updated="2999-01-01T00:00:00.000+0000"), delivery_id="f")
    assert drain(runtime) == {"applied": 1}
    # The real change, dated now (long before the forged time), still applies: a stored time far in
    # the future does not win order safety.
    real_time = (utcnow() - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    post_webhook(client, issue_payload(summary="real", updated=real_time), delivery_id="r")
    assert drain(runtime) == {"applied": 1}
    with runtime.sessions() as db:
        assert db.scalars(select(Ticket)).one().summary == "real"
    # And order safety holds again from there: an older event changes nothing.
    post_webhook(client, issue_payload(summary="stale", updated="2026-01-01T00:00:00.000+0000"), delivery_id="s")
    drain(runtime)
    with runtime.sessions() as db:
        assert db.scalars(select(Ticket)).one().summary == "real"
