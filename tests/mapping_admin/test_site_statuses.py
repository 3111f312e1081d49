"""The editor's list of the site's statuses: discovered and seen merged by name, counted, most used first."""

from __future__ import annotations

from mappings import load_default
from sync.projection.site_statuses import collect


def test_discovered_and_seen_statuses_merge_by_name_with_counts_and_rules() -> None:
    mapping = load_default()
    rules = mapping.to_dict()["status_rules"]
    found = [{"id": "5", "name": "Escalated", "category": "indeterminate"},
             {"id": "6", "name": "Release Waiting", "category": "indeterminate"},
             {"id": "777", "name": "Awaiting Legal Review", "category": "indeterminate"}]
    seen = [("5", "Escalated", "indeterminate", 3), (None, "escalated", None, 1),  # same status, id-less copy
            ("10", "In Progress", "indeterminate", 7), (None, None, None, 2)]  # a ticket without a status
    site = collect(found, seen, mapping)
    assert [(s.name, s.id, s.tickets) for s in site] == [
        ("In Progress", "10", 7), ("Escalated", "5", 4), ("Awaiting Legal Review", "777", 0),
        ("Release Waiting", "6", 0)]
    escalated = site[1]
    assert (escalated.customer_status, escalated.fell_back) == ("awaiting_fix", False)
    assert rules[escalated.rule_index]["jira_name"] == "Escalated" and escalated.notes["ru"].startswith("Передано")
    legal = site[2]
    assert (legal.customer_status, legal.fell_back, legal.rule_index) == ("in_progress", True, None)
