"""Customer priorities chosen on the create form map to one of JSM's priorities through the mapping."""

from __future__ import annotations

import pytest

from mappings import load_default

JIRA_FIVE = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]


@pytest.mark.parametrize(("customer", "options", "expected"), [
    ("high", JIRA_FIVE, "2"),          # High, not Highest: the extreme stays for agents
    ("medium", JIRA_FIVE, "3"),
    ("low", JIRA_FIVE, "4"),           # Low, not Lowest
    ("high", [("10", "Высокий"), ("11", "Средний"), ("12", "Низкий")], "10"),
    ("high", [("1", "Blocker"), ("2", "Critical"), ("3", "Major"), ("4", "Minor"), ("5", "Trivial")], "2"),
    ("low", [("3", "Medium")], None),  # no JSM option means "low": the form leaves priority to JSM
    ("medium", [("9", "Unknown to the mapping")], None),  # a fallback match is not a choice
])
def test_jira_priority_for(customer: str, options: list[tuple[str, str]], expected: str | None) -> None:
    assert load_default().jira_priority_for(customer, options) == expected
