"""Fixtures of the automatic-rule and SLA tests: the outbox tests' install wired to the stand-in JSM."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests
import yaml

from mappings import default_yaml
from sync.mapping_store import publish_version
from tests.notify.conftest import smtp
from tests.outbound.conftest import Env, env, make_env

__all__ = ["Env", "enable_rules", "env", "make_env", "move_sandbox_clock_to", "sandbox_now", "smtp"]


def enable_rules(runtime: Any) -> None:
    """Publish the default mapping with the seed's rules enabled (as an admin would in the editor)."""
    doc = yaml.safe_load(default_yaml())
    for rule in doc["policies"]:
        rule["enabled"] = True
    publish_version(runtime, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), author="test")


def sandbox_now(env: Env) -> datetime:
    """The stand-in's clock."""
    return datetime.fromtimestamp(env.sb.state.now_ms() / 1000, UTC)


def move_sandbox_clock_to(env: Env, target: datetime) -> None:
    """Move the stand-in's clock forward to `target` (through its control endpoint, as tests over HTTP do)."""
    hours = max(0.0, (target - sandbox_now(env)).total_seconds() / 3600)
    response = requests.post(env.sb.url + "/_sandbox/clock", json={"offset_hours": hours}, timeout=10)
    assert response.status_code == 200, response.text
