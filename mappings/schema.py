"""Pydantic v2 models describing the shape of a mapping document (the YAML an admin edits).

Only the *shape* lives here (types, required keys, no unknown keys). Cross-references and domain
rules (a rule naming an unknown status, a closed status allowing comments, ...) are checked in
`mappings.checks`, because they need the whole document at hand.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# The customer actions a status may allow; the portal shows a button per allowed action.
CUSTOMER_ACTIONS: tuple[str, ...] = ("comment", "attach", "resolve", "cancel", "reopen", "rate")
# The actions performed through a JSM transition ("respond" moves "Waiting for customer" back).
TRANSITION_ACTIONS: tuple[str, ...] = ("resolve", "cancel", "reopen", "respond")
BUCKETS: tuple[str, ...] = ("open", "resolved", "closed")
# Every label and description must exist in these locales; other locales are optional extras.
REQUIRED_LOCALES: tuple[str, ...] = ("en", "ru")
# Status-category keys a fallback can be configured for; "default" covers undefined/unknown.
FALLBACK_CATEGORIES: tuple[str, ...] = ("new", "indeterminate", "done", "default")

Texts = dict[str, str]


class _Strict(BaseModel):
    """Base: unknown keys are errors, so a typo in the YAML is reported instead of ignored."""

    # YAML reads `jira_id: 10001` as an int; ids and names are strings to us, so numbers are coerced.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)


class StatusDef(_Strict):
    bucket: str
    colour: str
    labels: Texts
    descriptions: Texts
    actions: list[str] = Field(default_factory=list)


class PriorityDef(_Strict):
    rank: int
    colour: str | None = None
    labels: Texts
    descriptions: Texts


class StatusRule(_Strict):
    """One Jira status (by id and/or name), optionally scoped to a project and/or request type."""

    jira_id: str | None = None
    jira_name: str | None = None
    customer_status: str
    project: str | None = None
    request_type: str | None = None
    # Optional finer customer-facing wording for this Jira status (e.g. "Передано в разработку").
    notes: Texts | None = None


class PriorityRule(_Strict):
    jira_id: str | None = None
    jira_name: str | None = None
    customer_priority: str


class RequestTypeMatch(_Strict):
    ids: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)


class SubtypeDef(_Strict):
    key: str
    labels: Texts
    request_types: RequestTypeMatch = Field(default_factory=RequestTypeMatch)


class CategoryDef(_Strict):
    key: str
    labels: Texts
    descriptions: Texts | None = None
    request_types: RequestTypeMatch = Field(default_factory=RequestTypeMatch)
    subtypes: list[SubtypeDef] = Field(default_factory=list)


class TransitionsDef(_Strict):
    default: dict[str, list[str]] = Field(default_factory=dict)
    projects: dict[str, dict[str, list[str]]] = Field(default_factory=dict)


def _default_fallbacks() -> dict[str, str]:
    # DESIGN.md: new→open, indeterminate→in_progress, done→resolved; undefined/unknown→open.
    return {"new": "open", "indeterminate": "in_progress", "done": "resolved", "default": "open"}


class MappingDocument(_Strict):
    """The whole document; key order of `statuses`/`priorities` is the display order."""

    version: int = 1
    statuses: dict[str, StatusDef]
    priorities: dict[str, PriorityDef]
    status_rules: list[StatusRule] = Field(default_factory=list)
    status_fallbacks: dict[str, str] = Field(default_factory=_default_fallbacks)
    priority_rules: list[PriorityRule] = Field(default_factory=list)
    priority_fallback: str = "medium"
    categories: list[CategoryDef] = Field(default_factory=list)
    transitions: TransitionsDef = Field(default_factory=TransitionsDef)
