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
TRANSITION_ACTIONS: tuple[str, ...] = ("resolve", "cancel", "reopen", "respond", "close")
# What an automatic rule may do: remind the customer, or one of the transition actions above.
POLICY_ACTIONS: tuple[str, ...] = ("remind", "resolve", "close", "cancel")
# The kinds of SLA a customer is shown (DESIGN.md ticket "sla"); JSM's own goal names stay internal.
SLA_KINDS: tuple[str, ...] = ("first_response", "resolution", "other")
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
    # Wording for readers other than the requester (a colleague, an org viewer, a share link), where the
    # requester's own wording ("waiting for your reply") would address the wrong person.
    others_labels: Texts | None = None
    others_descriptions: Texts | None = None
    # Shown at once while a customer's reply is on its way to JSM (the reply answers this status); JSM's
    # next status confirms it. Without it the status reads as before until JSM moves it.
    replied_labels: Texts | None = None
    replied_descriptions: Texts | None = None


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


class CalendarDef(_Strict):
    """When support works (DESIGN.md "Working calendar and automatic rules")."""

    timezone: str = "UTC"
    days: list[str] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    hours: list[str] = Field(default_factory=lambda: ["00:00", "24:00"])
    # A country code of the `holidays` library ("RU"), optionally with a subdivision ("US-CA").
    holidays: str | None = None


class PolicyDef(_Strict):
    """An automatic rule: after this much working time in customer status `when`, do `do`."""

    name: str
    when: str
    after_working_hours: float
    do: str
    enabled: bool = False
    # Optional wording of the comment sent with the action, per locale ({hours} is replaced).
    comment: Texts | None = None


class SlaLabelDef(_Strict):
    """What customers read for one JSM SLA (matched by its name, case-insensitive)."""

    kind: str = "other"
    labels: Texts | None = None


class SlaDef(_Strict):
    """Which projects have SLAs (omitted: ask JSM and remember those without) and their customer labels."""

    projects: list[str] | None = None
    goals: dict[str, SlaLabelDef] = Field(default_factory=dict)


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
    calendar: CalendarDef | None = None
    policies: list[PolicyDef] = Field(default_factory=list)
    sla: SlaDef = Field(default_factory=SlaDef)
