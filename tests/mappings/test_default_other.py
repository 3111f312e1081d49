"""Table tests for the default priorities, categories, transitions and scoped overrides."""

from __future__ import annotations

import pytest

from mappings import Mapping, load_default

M = load_default()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Highest", "high"),
        ("High", "high"),
        ("Medium", "medium"),
        ("Low", "low"),
        ("Lowest", "low"),
        ("highest", "high"),
        ("  LOWEST ", "low"),
        ("Blocker", "high"),
        ("Critical", "high"),
        ("Major", "medium"),
        ("Minor", "low"),
        ("Trivial", "low"),
        ("Высокий", "high"),
        ("Средний", "medium"),
        ("Низкий", "low"),
    ],
)
def test_priority_by_name(name: str, expected: str) -> None:
    p = M.resolve_priority("987", name)
    assert (p.key, p.fell_back, p.matched_by) == (expected, False, "name")


@pytest.mark.parametrize(("pid", "name"), [(None, None), ("1", None), (None, ""), ("77", "Urgent-ish"), (3, 4.5)])
def test_unmapped_priority_falls_back_to_medium(pid: object, name: object) -> None:
    p = M.resolve_priority(pid, name)  # type: ignore[arg-type]
    assert (p.key, p.fell_back) == ("medium", True)


def test_priority_vocabulary() -> None:
    assert [p.key for p in M.priorities] == ["high", "medium", "low"]
    assert [p.rank for p in M.priorities] == [1, 2, 3]
    assert M.priority("high").label("ru") == "Высокий"
    assert "срочного" in M.priority("high").description("ru")
    assert "временное решение" in M.priority("medium").description("ru")
    assert M.priority("low").label("xx") == "Low"


def test_priority_id_rule_beats_name() -> None:
    d = M.to_dict()
    d["priority_rules"].insert(0, {"jira_id": "1", "customer_priority": "low"})
    m = Mapping.from_dict(d)
    assert m.resolve_priority("1", "Highest").key == "low"
    assert m.resolve_priority(1, None).matched_by == "id"  # numbers and strings are the same id
    assert m.resolve_priority("2", "Highest").key == "high"


@pytest.mark.parametrize(
    ("name", "category", "subtype"),
    [
        ("Incident", "incident", None),
        ("Авария", "incident", None),
        ("Defect", "defect", None),
        ("дефект", "defect", None),
        ("Consultation", "consultation", None),
        ("Feature request", "feature_request", None),
        ("Запрос новой функциональности", "feature_request", None),
        ("Документы/Финансы", "documents_finance", None),
        ("Documents/Finance", "documents_finance", None),
        ("Запрос тарификации метрики", "documents_finance", "metric_billing"),
        ("Помощь по приложению", "app_help", None),
        ("App help", "app_help", None),
        ("Ошибки системы", "system_errors", None),
        ("System error", "system_errors", None),
    ],
)
def test_request_type_categories(name: str, category: str, subtype: str | None) -> None:
    match = M.category_for("55555", name)
    assert match is not None and match.key == category
    assert (match.subtype.key if match.subtype else None) == subtype


def test_documents_finance_subtypes() -> None:
    cat = next(c for c in M.categories if c.key == "documents_finance")
    assert [s.key for s in cat.subtypes] == ["metric_billing", "other"]
    assert cat.subtype("other") is not None and cat.subtype("other").label("ru") == "Иное"
    match = M.category_for(None, "Запрос тарификации метрики")
    assert match is not None
    assert match.label("ru") == "Документы/Финансы / Запрос тарификации метрики"
    assert match.as_dict("en")["subtype"] == "metric_billing"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("metric billing request", "metric_billing"), ("Запрос тарификации метрики", "metric_billing"),
     ("other", "other"), ("ИНОЕ", "other"), ("metric_billing", "metric_billing"), ("nonsense", None), (None, None)],
)
def test_subtype_from_the_subtype_field(value: str | None, expected: str | None) -> None:
    match = M.category_for("23", "Documents/Finance", value)
    assert match is not None and match.key == "documents_finance"
    assert (match.subtype.key if match.subtype else None) == expected


def test_subtype_value_is_ignored_for_categories_without_subtypes() -> None:
    match = M.category_for(None, "Incident", "other")
    assert match is not None and match.subtype is None


def test_unknown_request_type_has_no_category() -> None:
    assert M.category_for(None, None) is None
    assert M.category_for("1", "Something unmapped") is None


def test_category_by_id_beats_name() -> None:
    d = M.to_dict()
    d["categories"][0]["request_types"]["ids"] = ["12"]
    m = Mapping.from_dict(d)
    assert m.category_for(12, "Defect").key == "incident"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("action", "names"),
    [
        ("resolve", ["Resolve this issue", "Resolve"]),
        ("cancel", ["Cancel request", "Cancel"]),
        ("reopen", ["Reopen"]),
        ("respond", ["Respond to support"]),
        ("comment", []),
        ("nonsense", []),
    ],
)
def test_default_transitions(action: str, names: list[str]) -> None:
    assert M.transitions_for(action) == names
    assert M.transitions_for(action, "ANY") == names


def test_transition_matching_is_case_insensitive_and_ordered() -> None:
    available = [{"id": "11", "name": "resolve"}, {"id": "21", "name": "RESOLVE THIS ISSUE"}]
    assert M.pick_transition("resolve", available) == {"id": "21", "name": "RESOLVE THIS ISSUE"}
    assert M.pick_transition("cancel", available) is None
    assert M.pick_transition("reopen", ["Back", " reopen "]) == " reopen "
    assert M.transition_matches("cancel", "cancel REQUEST")
    assert not M.transition_matches("cancel", "Resolve")
    assert not M.transition_matches("cancel", None)


def test_project_transition_override_replaces_default_for_that_project_only() -> None:
    d = M.to_dict()
    d["transitions"]["projects"] = {"sup": {"resolve": ["Mark as done"]}}
    m = Mapping.from_dict(d)
    assert m.transitions_for("resolve", "SUP") == ["Mark as done"]
    assert m.transitions_for("resolve", "sup") == ["Mark as done"]
    assert m.transitions_for("cancel", "SUP") == ["Cancel request", "Cancel"]
    assert m.transitions_for("resolve", "OTHER") == ["Resolve this issue", "Resolve"]


def test_scoped_status_rules_most_specific_wins() -> None:
    d = M.to_dict()
    d["status_rules"] += [
        {"jira_id": "10", "customer_status": "in_progress"},
        {"jira_name": "Backlog", "customer_status": "on_hold", "project": "ABC"},
        {"jira_name": "Backlog", "customer_status": "closed", "request_type": "7"},
        {"jira_name": "Backlog", "customer_status": "canceled", "project": "abc", "request_type": "7"},
        {"jira_id": "10", "customer_status": "resolved", "project": "ABC"},
    ]
    m = Mapping.from_dict(d)
    assert m.resolve_status("1", "Backlog", "new").key == "awaiting_fix"
    assert m.resolve_status("1", "Backlog", "new", "abc").key == "on_hold"
    assert m.resolve_status("1", "Backlog", "new", None, "7").key == "closed"
    assert m.resolve_status("1", "Backlog", "new", "XYZ", 7).key == "closed"  # type: ignore[arg-type]
    assert m.resolve_status("1", "Backlog", "new", "ABC", "7").key == "canceled"
    # id beats name at the same scope; a more specific scope beats an id at a wider one.
    assert m.resolve_status("10", "Backlog", None).key == "in_progress"
    assert m.resolve_status("10", "Backlog", None, "ABC").key == "resolved"
    assert m.resolve_status("10", "Backlog", None, "ABC", "7").key == "canceled"
