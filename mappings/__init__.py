"""Pure mapping of Jira/JSM statuses, priorities, request types and transitions to the customer vocabulary.

Imports nothing of the project and does no I/O beyond reading the YAML it is given (or the bundled
`default.yaml`).
"""

from mappings.calendar import WorkingCalendar
from mappings.checks import MappingError
from mappings.mapping import Mapping, default_yaml, load_default, load_file, load_yaml
from mappings.model import (
    CategoryMatch,
    CategorySubtype,
    CustomerCategory,
    CustomerPriority,
    CustomerStatus,
    PriorityResolution,
    StatusResolution,
)
from mappings.policies import PolicyBook, PolicyRule, SlaGoal
from mappings.schema import BUCKETS, CUSTOMER_ACTIONS, REQUIRED_LOCALES, TRANSITION_ACTIONS

__all__ = [
    "BUCKETS",
    "CUSTOMER_ACTIONS",
    "REQUIRED_LOCALES",
    "TRANSITION_ACTIONS",
    "CategoryMatch",
    "CategorySubtype",
    "CustomerCategory",
    "CustomerPriority",
    "CustomerStatus",
    "Mapping",
    "MappingError",
    "PolicyBook",
    "PolicyRule",
    "PriorityResolution",
    "SlaGoal",
    "StatusResolution",
    "WorkingCalendar",
    "default_yaml",
    "load_default",
    "load_file",
    "load_yaml",
]
