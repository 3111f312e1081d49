"""Refusals of administrative changes and the checks of their input, in words both languages can carry.

A refusal keeps its message as a catalogue template with named values: the JSON API sends the English
text, the admin pages translate the template (this layer has no Flask, so it only marks the strings).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sync.models import User
from sync.permissions import can_manage_users, is_admin


def N_(message: str) -> str:  # pybabel's default keyword for a string translated later
    """Mark `message` for the catalogue without translating it here."""
    return message


@dataclasses.dataclass
class AdminError(Exception):
    """A refused change: HTTP status, a message template and its values, and the field it is about."""

    status: int
    template: str
    field: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def message(self) -> str:
        """The English text (what the JSON API and the CLI print)."""
        return self.template % self.params if self.params else self.template


def text(data: dict[str, Any], name: str, required: bool = False, limit: int = 255) -> str | None:
    """A trimmed string field, None when absent or empty (400 when required)."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise AdminError(400, N_("'%(field)s' is required"), name, {"field": name})
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise AdminError(400, N_("'%(field)s' must be a non-empty text of at most %(limit)d characters"), name,
                         {"field": name, "limit": limit})
    return value.strip()


def names(data: dict[str, Any], name: str) -> list[str] | None:
    """A list of names, sorted and without duplicates; None when absent."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise AdminError(400, N_("'%(field)s' must be a list of names"), name, {"field": name})
    return sorted({v.strip() for v in value})


def flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise AdminError(400, N_("'%(field)s' must be true or false"), name, {"field": name})
    return value


def require_manager(actor: User) -> None:
    """Admins and org admins pass; anyone else learns nothing (404)."""
    if not can_manage_users(actor):
        raise AdminError(404, N_("not found"))


def require_admin(actor: User) -> None:
    if not is_admin(actor):
        raise AdminError(404, N_("not found"))
