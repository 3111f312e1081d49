"""Static configuration of the stand-in JSM: workflow, priorities, service desks, request types, fields.

The mappings team references these constants (status ids, transition names); keep them stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class StatusCategory:
    """A Jira status category (`new`, `indeterminate`, `done`)."""

    id: int
    key: str
    name: str
    color: str


CATEGORY_NEW = StatusCategory(2, "new", "To Do", "blue-gray")
CATEGORY_INDETERMINATE = StatusCategory(4, "indeterminate", "In Progress", "yellow")
CATEGORY_DONE = StatusCategory(3, "done", "Done", "green")


@dataclass(frozen=True, slots=True)
class Status:
    """A workflow status with a stable id."""

    id: str
    name: str
    category: StatusCategory
    description: str = ""


# The eXpress workflow (domain/README.md, 000/001). Ids imitate Jira: built-ins keep Jira's small ids
# ("3" In Progress, "5" Resolved, "6" Closed), the rest are 100xx like statuses a site admin creates.
STATUSES: tuple[Status, ...] = (
    Status("10001", "Waiting for Support", CATEGORY_NEW, "Waiting to be picked up by support."),
    Status("10002", "Waiting for Customer", CATEGORY_INDETERMINATE, "Support needs more information."),
    Status("10003", "Проверяется", CATEGORY_INDETERMINATE, "Support is checking or reproducing."),
    Status("3", "In Progress", CATEGORY_INDETERMINATE, "Support is working on it."),
    Status("10004", "Escalated", CATEGORY_INDETERMINATE, "Handed over to development."),
    Status("10005", "Analyse", CATEGORY_INDETERMINATE, "Information is being analysed."),
    Status("10006", "Backlog", CATEGORY_INDETERMINATE, "Filed with development, waiting."),
    Status("10007", "In Development", CATEGORY_INDETERMINATE, "Being developed or fixed."),
    Status("10008", "On Hold", CATEGORY_INDETERMINATE, "Paused."),
    Status("10009", "Release Waiting", CATEGORY_INDETERMINATE, "Done, waiting for the release."),
    Status("5", "Resolved", CATEGORY_DONE, "Solved."),
    Status("10010", "Canceled", CATEGORY_DONE, "Not reproducible or will not be done."),
    Status("6", "Closed", CATEGORY_DONE, "Closed; commenting unavailable."),
)
STATUS_BY_ID = {s.id: s for s in STATUSES}
STATUS_BY_NAME = {s.name.lower(): s for s in STATUSES}
INITIAL_STATUS = STATUSES[0]


@dataclass(frozen=True, slots=True)
class Priority:
    """A Jira priority."""

    id: str
    name: str
    color: str
    icon: str


PRIORITIES: tuple[Priority, ...] = (
    Priority("1", "Highest", "#d04437", "highest"),
    Priority("2", "High", "#f15C75", "high"),
    Priority("3", "Medium", "#f79232", "medium"),
    Priority("4", "Low", "#707070", "low"),
    Priority("5", "Lowest", "#999999", "lowest"),
)
PRIORITY_BY_ID = {p.id: p for p in PRIORITIES}
PRIORITY_BY_NAME = {p.name.lower(): p for p in PRIORITIES}
DEFAULT_PRIORITY = PRIORITY_BY_ID["3"]

RESOLUTIONS = {
    "10000": ("Done", "Work has been completed on this issue."),
    "10001": ("Won't Do", "This issue won't be actioned."),
}
# Which resolution a done status sets when entered (Closed keeps the existing one, else Done).
RESOLUTION_ON_ENTER = {"5": "10000", "10010": "10001", "6": "10000"}

# Agent workflow: target status name -> transition name. One transition id per target status
# (like Jira's global transitions), so an id means the same move wherever it is offered.
AGENT_TRANSITION_NAMES = {
    "Waiting for Support": "Back to support",
    "Waiting for Customer": "Respond to customer",
    "Проверяется": "Check",
    "In Progress": "Start progress",
    "Escalated": "Escalate",
    "Analyse": "Analyse",
    "Backlog": "Move to backlog",
    "In Development": "Start development",
    "On Hold": "Put on hold",
    "Release Waiting": "Wait for release",
    "Resolved": "Resolve",
    "Canceled": "Cancel",
    "Closed": "Close",
}
AGENT_TRANSITION_IDS = {name: str(11 + 10 * i) for i, name in enumerate(AGENT_TRANSITION_NAMES)}

# Not a full mesh on purpose: some moves need several hops (e.g. Backlog -> Resolved), as on real sites.
AGENT_WORKFLOW: dict[str, tuple[str, ...]] = {
    "Waiting for Support": ("Проверяется", "In Progress", "Waiting for Customer", "Escalated", "On Hold",
                            "Resolved", "Canceled"),
    "Проверяется": ("In Progress", "Waiting for Customer", "Escalated", "Resolved", "Canceled"),
    "In Progress": ("Waiting for Support", "Waiting for Customer", "Escalated", "Analyse", "Backlog",
                    "On Hold", "Resolved", "Canceled"),
    "Waiting for Customer": ("Waiting for Support", "In Progress", "On Hold", "Resolved", "Canceled"),
    "Escalated": ("In Progress", "Analyse", "Backlog", "Canceled"),
    "Analyse": ("In Progress", "Backlog", "In Development", "Canceled"),
    "Backlog": ("In Development", "On Hold", "Canceled"),
    "In Development": ("Backlog", "Release Waiting"),
    "On Hold": ("Waiting for Support", "In Progress", "Canceled"),
    "Release Waiting": ("In Progress", "Resolved"),
    "Resolved": ("In Progress", "Closed"),
    "Canceled": ("Waiting for Support", "Closed"),
    "Closed": (),
}


@dataclass(frozen=True, slots=True)
class CustomerTransition:
    """A transition a customer can perform from the portal (servicedeskapi)."""

    id: str
    name: str
    to: str
    sources: tuple[str, ...]


_OPEN = tuple(s.name for s in STATUSES if s.category is not CATEGORY_DONE)
RESOLVE = CustomerTransition("901", "Resolve this issue", "Resolved", _OPEN)
CANCEL = CustomerTransition("911", "Cancel request", "Canceled", _OPEN)
RESPOND = CustomerTransition("921", "Respond to support", "Waiting for Support", ("Waiting for Customer",))
REOPEN = CustomerTransition("931", "Reopen", "Waiting for Support", ("Resolved", "Canceled"))
CLOSE = CustomerTransition("941", "Close request", "Closed", ("Resolved",))
# Referenced by the mappings team: names and ids are stable.
CUSTOMER_TRANSITIONS: tuple[CustomerTransition, ...] = (RESOLVE, CANCEL, RESPOND, REOPEN, CLOSE)


@dataclass(frozen=True, slots=True)
class FieldDef:
    """A request-type field: system (`summary`) or custom (`customfield_NNNNN`)."""

    id: str
    name: str
    kind: str  # "string" | "text" | "priority" | "select"
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()  # (option id, value) for selects


SUMMARY = FieldDef("summary", "Summary", "string", required=True)
DESCRIPTION = FieldDef("description", "Description", "text")
PRIORITY_FIELD = FieldDef("priority", "Priority", "priority")
ENVIRONMENT = FieldDef("customfield_10201", "Environment", "select",
                       options=(("10301", "Production"), ("10302", "Test"), ("10303", "Development")))
PLATFORM_VERSION = FieldDef("customfield_10202", "Platform version", "string")
SUBTYPE = FieldDef("customfield_10200", "Subtype", "select", required=True,
                   options=(("10300", "metric billing request"), ("10304", "other")))
CUSTOM_FIELDS = (ENVIRONMENT, PLATFORM_VERSION, SUBTYPE)
# JSM's own custom fields (ids vary per site on real Jira; fixed here).
CF_REQUEST_TYPE = "customfield_10010"
CF_ORGANIZATIONS = "customfield_10002"
CF_PARTICIPANTS = "customfield_10003"


@dataclass(frozen=True, slots=True)
class RequestType:
    """A JSM request type of one service desk."""

    id: str
    name: str
    description: str
    issue_type_id: str
    desk_id: str
    fields: tuple[FieldDef, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ServiceDesk:
    """A service desk (one JSM project)."""

    id: str
    project_id: str
    key: str
    name: str


SERVICE_DESKS: tuple[ServiceDesk, ...] = (
    ServiceDesk("1", "10000", "SUP", "Technical support"),
    ServiceDesk("2", "10001", "HELP", "Customer support"),
)
DESK_BY_ID = {d.id: d for d in SERVICE_DESKS}

ISSUE_TYPES = {"10100": "Incident", "10101": "Bug", "10102": "Service Request", "10103": "Task"}
_SUP_FIELDS = (SUMMARY, DESCRIPTION, PRIORITY_FIELD, ENVIRONMENT, PLATFORM_VERSION)
_HELP_FIELDS = (SUMMARY, DESCRIPTION, PRIORITY_FIELD)
REQUEST_TYPES: tuple[RequestType, ...] = (
    RequestType("11", "Incident", "Something is broken (Авария)", "10100", "1", _SUP_FIELDS),
    RequestType("12", "Defect", "A bug in the product (Дефект)", "10101", "1", _SUP_FIELDS),
    RequestType("13", "Consultation", "A question (Консультация)", "10102", "1", _SUP_FIELDS),
    RequestType("14", "Feature request", "Ask for something new (Запрос новой функциональности)", "10103",
                "1", _SUP_FIELDS),
    RequestType("21", "System error", "The system shows an error", "10100", "2", _HELP_FIELDS),
    RequestType("22", "App help", "How do I ...?", "10102", "2", _HELP_FIELDS),
    RequestType("23", "Documents/Finance", "Invoices, acts, billing", "10102", "2", (*_HELP_FIELDS, SUBTYPE)),
)
REQUEST_TYPE_BY_ID = {t.id: t for t in REQUEST_TYPES}


def status_named(name: str) -> Status:
    """Return the status with this name (case-insensitive) or raise KeyError."""
    return STATUS_BY_NAME[name.strip().lower()]


def priority_named(name: str) -> Priority:
    """Return the priority with this name or id (case-insensitive) or raise KeyError."""
    key = str(name).strip()
    return PRIORITY_BY_ID.get(key) or PRIORITY_BY_NAME[key.lower()]


def agent_targets(status_name: str) -> tuple[Status, ...]:
    """Statuses an agent can move a request to from `status_name`."""
    return tuple(STATUS_BY_NAME[n.lower()] for n in AGENT_WORKFLOW.get(status_name, ()))


def customer_transitions(status_name: str) -> tuple[CustomerTransition, ...]:
    """Customer transitions offered in `status_name`."""
    return tuple(t for t in CUSTOMER_TRANSITIONS if status_name in t.sources)
