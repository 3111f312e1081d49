"""Configuration: YAML file + `COMPANION_*` environment overrides, validated at start-up.

Precedence (highest first): environment variables, the YAML file, built-in defaults.
The file is `--config`, else `$COMPANION_CONFIG`, else `./config.yaml` if present.
"""

from __future__ import annotations

import os
import re
import secrets
from contextvars import ContextVar
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

import yaml
from croniter import croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

SANDBOX = "sandbox"
# The parsed YAML file of the load in progress; below the environment, above the defaults.
_yaml_document: ContextVar[dict[str, Any] | None] = ContextVar("companion_yaml_document", default=None)
ENV_PREFIX = "COMPANION_"
# An HMAC key shorter than this is guessable offline from one signed delivery; 16 bytes is 128 bits.
MIN_WEBHOOK_SECRET_BYTES = 16


class ConfigError(Exception):
    """A configuration problem, phrased as one line naming the dotted key."""


def _split_list(value: Any) -> Any:
    # Environment variables carry lists as "A,B"; YAML carries real lists.
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateSettings(_Section):
    """Requests toward the JSM site: a steady rate and a burst, shared by every process of the install.

    Jira Cloud's documented per-site bursts are 100/s for GET and POST and 50/s for PUT and DELETE,
    shared with every other app on the site; 20/s with bursts of 40 leaves most of that to the others
    and still reconciles 100 tickets a call at 2,000 tickets/s. Data Center sites set their own limits.
    """

    per_second: float = Field(default=20.0, gt=0, le=1000)
    burst: int = Field(default=40, ge=1, le=10_000)


class JiraSettings(_Section):
    base_url: str = SANDBOX
    deployment: Literal["cloud", "datacenter"] = "cloud"
    email: str | None = None
    api_token: SecretStr | None = None
    projects: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_secret: SecretStr | None = None
    # The secret being rotated out: deliveries signed with either are accepted until it is removed.
    webhook_secret_previous: SecretStr | None = None
    allow_unsigned_webhooks: bool = False
    rate: RateSettings = Field(default_factory=RateSettings)
    # Not in DESIGN.md's list: where `companion run` starts the stand-in JSM when base_url is "sandbox".
    sandbox_port: int = Field(default=8081, ge=1, le=65535)

    _split_projects = field_validator("projects", mode="before")(_split_list)

    @field_validator("webhook_secret", "webhook_secret_previous")
    @classmethod
    def _secret_strength(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty value (e.g. an unset templated `COMPANION_JIRA_WEBHOOK_SECRET=`) means "no secret":
        # the model validator then refuses to start unless unsigned webhooks are allowed explicitly.
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value().encode()) < MIN_WEBHOOK_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_WEBHOOK_SECRET_BYTES} bytes (generate one with "
                             "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value != SANDBOX and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be 'sandbox' or an http(s) URL, got {value!r}")
        return value

    @field_validator("projects")
    @classmethod
    def _project_keys(cls, value: list[str]) -> list[str]:
        keys = [key.strip().upper() for key in value]
        bad = [key for key in keys if not key.replace("_", "").isalnum()]
        if bad:
            raise ValueError(f"not a Jira project key: {bad[0]!r}")
        return keys

    @property
    def is_sandbox(self) -> bool:
        """True when the built-in stand-in JSM is the site."""
        return self.base_url == SANDBOX

    @property
    def site_url(self) -> str:
        """The HTTP base URL of the JSM site (the stand-in's local URL in sandbox mode)."""
        return f"http://127.0.0.1:{self.sandbox_port}" if self.is_sandbox else self.base_url

    def mirrors(self, project_key: str | None) -> bool:
        """Whether events of this project are mirrored (an empty list mirrors every project)."""
        if not self.projects:
            return True
        return project_key is not None and project_key.upper() in self.projects


class SyncSettings(_Section):
    reconcile_cron: str = "*/5 * * * *"
    reconcile_overlap_seconds: int = Field(default=300, ge=0, le=86_400)

    @field_validator("reconcile_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"not a cron expression: {value!r}")
        return value


def _every_locale() -> list[Literal["en", "ru"]]:
    return ["en", "ru"]


class PortalSettings(_Section):
    locales: Annotated[list[Literal["en", "ru"]], NoDecode] = Field(default_factory=_every_locale, min_length=1)
    default_locale: Literal["en", "ru"] = "en"
    # Absolute links in e-mails; None: http://127.0.0.1:$PORT (see `Settings.effective_base_url`).
    base_url: str | None = None

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an absolute http(s) URL, got {value!r}")
        return value.rstrip("/") if value else None
    # What each service desk is for, by project key and locale, shown where a customer chooses a desk.
    desk_notes: dict[str, dict[Literal["en", "ru"], str]] = Field(default_factory=dict)
    # Read-only summary links expire: the lifetime offered first and the longest one may choose, in days.
    share_link_days: int = Field(default=30, ge=1)
    share_link_max_days: int = Field(default=90, ge=1, le=3660)

    _split_locales = field_validator("locales", mode="before")(_split_list)

    @model_validator(mode="after")
    def _default_in_locales(self) -> PortalSettings:
        if self.default_locale not in self.locales:
            raise ValueError(f"default_locale {self.default_locale!r} is not one of locales {self.locales}")
        if self.share_link_days > self.share_link_max_days:
            raise ValueError(f"share_link_days ({self.share_link_days}) is more than share_link_max_days "
                             f"({self.share_link_max_days})")
        return self


class MailSettings(_Section):
    # smtp://[user:password@]host[:port][?starttls=true] or smtps://...; None: .eml files under data_dir/mail.
    smtp_url: SecretStr | None = None
    sender: str = Field(default="JSM Companion <companion@localhost>", alias="from")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("smtp_url")
    @classmethod
    def _smtp(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("smtp://", "smtps://")):
            raise ValueError("must start with smtp:// or smtps://")
        return value


class NotificationsSettings(_Section):
    # Changes of one request inside this window make one e-mail (0: each change is mailed at once).
    coalesce_seconds: int = Field(default=120, ge=0, le=86_400)
    # The local hour (in each user's time zone) daily digests are sent.
    digest_hour: int = Field(default=8, ge=0, le=23)


class MappingsSettings(_Section):
    file: Path | None = None


class LogSettings(_Section):
    # text: the classic one-line format; json: one object per line for a log pipeline (sync.logs).
    format: Literal["text", "json"] = "text"


class MetricsSettings(_Section):
    # Bearer token GET /metrics requires; unset: only loopback clients may read it.
    token: SecretStr | None = None


class ProxySettings(_Section):
    # Reverse proxies in front that set X-Forwarded-For/-Proto/-Host (0: trust none of those headers).
    trusted_hops: int = Field(default=0, ge=0, le=10)


class SecuritySettings(_Section):
    # A portal session ends after this long without a request (live polls do not count), and in any
    # case this long after sign-in (also the cookie's lifetime).
    session_idle_minutes: int = Field(default=480, ge=5, le=43_200)
    session_absolute_hours: int = Field(default=168, ge=1, le=8_760)
    # Admins and org admins must use a TOTP second factor; one without it is sent to set it up at sign-in.
    # Unset: required for a real site, not against the stand-in, whose demo admin's password is printed
    # at start anyway (Settings.totp_required_for_managers).
    require_totp_for_managers: bool | None = None


class _YamlSource(PydanticBaseSettingsSource):
    """Feeds the already-parsed YAML document to pydantic-settings below the environment."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]):
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    """The whole effective configuration of one install."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
        case_sensitive=False,
    )

    data_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    jira: JiraSettings = Field(default_factory=JiraSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    portal: PortalSettings = Field(default_factory=PortalSettings)
    mappings: MappingsSettings = Field(default_factory=MappingsSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    notifications: NotificationsSettings = Field(default_factory=NotificationsSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls, _yaml_document.get() or {}))

    @field_validator("database_url", "redis_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError(f"must be a URL such as postgresql+psycopg://host/db, got {value!r}")
        return value or None

    @model_validator(mode="after")
    def _site_credentials(self) -> Settings:
        jira = self.jira
        if jira.webhook_secret_previous is not None and jira.webhook_secret is None:
            raise ValueError("jira.webhook_secret_previous: only valid beside jira.webhook_secret (the new one)")
        if jira.is_sandbox:
            return self  # the stand-in signs with a secret generated under data_dir (webhook_secrets)
        if jira.api_token is None:
            raise ValueError("jira.api_token: required when jira.base_url is a real site")
        if jira.deployment == "cloud" and not jira.email:
            raise ValueError("jira.email: required for a Cloud site (Basic auth is email + API token)")
        if jira.webhook_secret is None and not jira.allow_unsigned_webhooks:
            raise ValueError("jira.webhook_secret: required for a real site (missing or empty; at least "
                             f"{MIN_WEBHOOK_SECRET_BYTES} bytes) unless jira.allow_unsigned_webhooks is true")
        return self

    @property
    def totp_required_for_managers(self) -> bool:
        """security.require_totp_for_managers, defaulting to on for a real site and off for the stand-in's demo."""
        required = self.security.require_totp_for_managers
        return (not self.jira.is_sandbox) if required is None else required

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite under data_dir."""
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'companion.db'}"

    @property
    def effective_base_url(self) -> str:
        """Where the portal is reached from a mail reader: portal.base_url, else this machine's $PORT."""
        return self.portal.base_url or f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"

    @cached_property
    def effective_secret_key(self) -> str:
        """The Flask secret key; generated once into data_dir so every process of the install agrees."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return generated_secret(self.data_dir, "secret_key")

    @cached_property
    def webhook_secrets(self) -> tuple[str, ...]:
        """The secrets a webhook may be signed with, newest first; empty only when unsigned is allowed.

        In sandbox mode without a configured secret, one is generated under data_dir: every process of
        the install and the stand-in JSM it starts then sign and verify with the same one.
        """
        jira = self.jira
        if jira.webhook_secret is not None:
            previous = jira.webhook_secret_previous
            return (jira.webhook_secret.get_secret_value(),) + ((previous.get_secret_value(),) if previous else ())
        if jira.allow_unsigned_webhooks:
            return ()
        return (generated_secret(self.data_dir, "webhook_secret"),)

    def masked(self) -> dict[str, Any]:
        """The effective configuration as plain data, with secrets masked."""
        data = self.model_dump(mode="json")
        data["database_url"] = self.effective_database_url
        masked: dict[str, Any] = _mask_urls(data)
        return masked


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the owner only; an existing directory keeps its mode."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def generated_secret(data_dir: Path, name: str) -> str:
    """A random secret kept in data_dir/name (mode 0600), created once for every process of the install."""
    path = private_dir(data_dir) / name
    try:
        # O_EXCL: of two processes starting at once, one creates the file and the other reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


_SECRET_QUERY_NAME = re.compile(r"pass|secret|token|key|auth", re.IGNORECASE)


def _mask_url_password(url: str) -> str:
    # postgresql://user:secret@host/db?password=x → postgresql://user:***@host/db?password=***
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        creds, host = rest.split("@", 1)
        rest = f"{creds.split(':', 1)[0]}:***@{host}"
    base, qmark, query = rest.partition("?")
    if query:
        pairs = [(name, "***" if _SECRET_QUERY_NAME.search(name) else value)
                 for name, value in parse_qsl(query, keep_blank_values=True)]
        rest = base + qmark + urlencode(pairs, safe="*")
    return f"{scheme}{sep}{rest}"


def _mask_urls(value: Any) -> Any:
    """Every URL in plain configuration data with its password and secret query parameters masked."""
    if isinstance(value, dict):
        return {key: _mask_urls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_urls(item) for item in value]
    if isinstance(value, str) and "://" in value:
        return _mask_url_password(value)
    return value


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read: explicit path, $COMPANION_CONFIG, ./config.yaml, or none."""
    if explicit:
        return Path(explicit)
    if os.environ.get("COMPANION_CONFIG"):
        return Path(os.environ["COMPANION_CONFIG"])
    default = Path("config.yaml")
    return default if default.exists() else None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config file {path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping of keys, got {type(data).__name__}")
    return data


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key (see config.example.yaml for the valid ones)"
    if not key:  # model-level validators name the key in their message
        return message
    return f"{key}: {message}"


def load_settings(config_path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Load and validate the configuration; raise ConfigError with a one-line message naming the key."""
    path = find_config_file(config_path)
    data = _read_yaml(path) if path else {}
    token = _yaml_document.set(data)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except SettingsError as exc:
        raise ConfigError(str(exc)) from None
    finally:
        _yaml_document.reset(token)
