"""Configuration: YAML + COMPANION_* overrides; bad input stops start-up with the dotted key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from sync.settings import ConfigError, load_settings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("COMPANION_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_with_no_file_are_the_embedded_install() -> None:
    settings = load_settings()
    assert settings.jira.is_sandbox
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.redis_url is None
    assert settings.portal.locales == ["en", "ru"]


REAL_SITE = ("jira:\n  base_url: https://acme.atlassian.net\n  email: a@b.c\n  api_token: t\n"
             "  webhook_secret: 0123456789abcdef0123\n")


@pytest.mark.parametrize(("text", "required"), [
    (REAL_SITE, True),  # a real site: admins and org admins need a second factor unless told otherwise
    ("", False),  # the stand-in's demo, whose passwords are printed at start
    (REAL_SITE + "security:\n  require_totp_for_managers: false\n", False),
    ("security:\n  require_totp_for_managers: true\n", True),
])
def test_second_factor_for_managers_defaults_by_site(tmp_path: Path, text: str, required: bool) -> None:
    assert load_settings(write(tmp_path, text)).totp_required_for_managers is required


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "jira:\n  deployment: datacenter\n  projects: [SUP]\n"
                           "sync:\n  reconcile_overlap_seconds: 60\n")
    monkeypatch.setenv("COMPANION_JIRA_PROJECTS", "sup, help")
    monkeypatch.setenv("COMPANION_SYNC_RECONCILE_OVERLAP_SECONDS", "90")
    settings = load_settings(path)
    assert settings.jira.deployment == "datacenter"  # from the file
    assert settings.jira.projects == ["SUP", "HELP"]  # env wins, normalised
    assert settings.sync.reconcile_overlap_seconds == 90


def test_config_file_found_through_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("portal:\n  default_locale: ru\n")
    monkeypatch.setenv("COMPANION_CONFIG", str(other))
    assert load_settings().portal.default_locale == "ru"


@pytest.mark.parametrize(("text", "message"), [
    ("jira:\n  deployment: server\n", "jira.deployment: Input should be 'cloud' or 'datacenter'"),
    ("jira:\n  deploymnt: cloud\n", "jira.deploymnt: unknown key"),
    ("sync:\n  reconcile_cron: every minute\n", "sync.reconcile_cron: not a cron expression"),
    ("sync:\n  reconcile_overlap_seconds: -5\n", "sync.reconcile_overlap_seconds: Input should be greater"),
    ("portal:\n  default_locale: de\n", "portal.default_locale: Input should be 'en' or 'ru'"),
    ("portal:\n  locales: [en]\n  default_locale: ru\n", "default_locale 'ru' is not one of locales"),
    ("database_url: companion.db\n", "database_url: must be a URL"),
    ("jira:\n  base_url: ftp://x\n", "jira.base_url: must be 'sandbox' or an http(s) URL"),
    ("jira:\n  base_url: https://acme.atlassian.net\n  api_token: t\n", "jira.email: required for a Cloud site"),
    ("jira:\n  base_url: https://acme.atlassian.net\n  email: a@b.c\n  api_token: t\n",
     "jira.webhook_secret: required for a real site"),
    ("jira: [\n", "not valid YAML"),
    ("- a\n- b\n", "the top level must be a mapping"),
])
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_environment_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_JIRA_ALLOW_UNSIGNED_WEBHOOKS", "perhaps")
    with pytest.raises(ConfigError, match=r"^jira\.allow_unsigned_webhooks: "):
        load_settings()


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml")


def test_check_config_masks_secrets_and_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `companion check-config` in this process: the same `main` that `python -m app` runs, without a second
    # interpreter importing the whole app (other tests start real `companion` processes).
    good = write(tmp_path, "jira:\n  base_url: https://acme.atlassian.net\n  email: a@acme.test\n"
                           "  api_token: SUPERSECRET\n  webhook_secret: HOOKSECRET-0123456789\n"
                           "database_url: postgresql+psycopg://app:DBPASS@db/companion\n")
    assert main(["--config", str(good), "check-config"]) == 0
    out = capsys.readouterr().out
    for secret in ("SUPERSECRET", "HOOKSECRET", "DBPASS"):
        assert secret not in out
    assert '"base_url": "https://acme.atlassian.net"' in out
    bad = write(tmp_path, "jira:\n  deployment: nope\n")
    assert main(["--config", str(bad), "check-config"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("configuration error: jira.deployment:")


def test_example_file_is_valid_and_documents_every_key() -> None:
    import yaml

    from sync.settings import Settings

    example = REPO / "config.example.yaml"
    load_settings(example)
    document = yaml.safe_load(example.read_text())
    for name, field in Settings.model_fields.items():
        assert name in document, f"config.example.yaml lacks {name}"
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            # A key spelled differently in YAML than in Python (mail.from) is documented by its alias.
            keys = {f.alias or key for key, f in annotation.model_fields.items()}
            missing = keys - set(document[name])
            assert not missing, f"config.example.yaml lacks {name}.{sorted(missing)}"
