"""Invalid documents: every problem is reported, each message naming the offending entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mappings import Mapping, MappingError, load_default, load_file, load_yaml


def _errors(mutate: Callable[[dict[str, Any]], None]) -> list[str]:
    doc = load_default().to_dict()
    mutate(doc)
    with pytest.raises(MappingError) as info:
        Mapping.from_dict(doc)
    return info.value.messages


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _drop(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return mutate


CASES = [
    (_drop(["statuses", "awaiting_customer", "labels", "ru"]), "statuses.awaiting_customer.labels.ru: missing"),
    (_set(["statuses", "open", "descriptions", "en"], "  "), "statuses.open.descriptions.en: missing"),
    (_set(["status_rules", 3, "customer_status"], "foo"), "status_rules[3].customer_status: unknown status 'foo'"),
    (_drop(["statuses", "open", "bucket"]), "statuses.open.bucket: missing"),
    (_set(["statuses", "open", "bucket"], "limbo"), "statuses.open.bucket: 'limbo' is not one of"),
    (_set(["statuses", "open", "colour"], "blue"), "statuses.open.colour: 'blue' is not"),
    (_set(["statuses", "closed", "actions"], ["comment"]), "statuses.closed.actions[0]: 'comment' is not allowed"),
    (_set(["statuses", "open", "actions"], ["rate"]), "statuses.open.actions[0]: 'rate' is not allowed"),
    (_set(["statuses", "open", "actions"], ["dance"]), "statuses.open.actions[0]: unknown action 'dance'"),
    (_set(["statuses", "Bad Key"], load_default().to_dict()["statuses"]["open"]), "statuses.Bad Key: key"),
    (_set(["statuses", "open", "flavour"], "x"), "statuses.open.flavour: unknown key"),
    (_set(["status_rules", 0, "jira_name"], None), "status_rules[0]: needs jira_id or jira_name"),
    (_set(["status_rules", 1, "jira_name"], " waiting FOR support "), "status_rules[1]: name 'waiting for support'"),
    (_set(["status_fallbacks", "done"], "nope"), "status_fallbacks.done: unknown status 'nope'"),
    (_drop(["status_fallbacks", "new"]), "status_fallbacks.new: missing"),
    (_set(["status_fallbacks", "weird"], "open"), "status_fallbacks.weird: unknown category"),
    (_set(["priority_fallback"], "urgent"), "priority_fallback: unknown priority 'urgent'"),
    (_set(["priority_rules", 2, "customer_priority"], "p1"), "priority_rules[2].customer_priority: unknown priority"),
    (_set(["priorities", "low", "rank"], 1), "priorities.low.rank: 1 is already used by 'high'"),
    (_drop(["priorities", "high", "labels", "en"]), "priorities.high.labels.en: missing"),
    (_set(["priorities", "high", "rank"], "first"), "priorities.high.rank: "),
    (_set(["categories", 6, "subtypes", 1, "key"], "metric_billing"), "categories[6].subtypes[1].key: duplicate"),
    (_drop(["categories", 0, "labels", "ru"]), "categories[0].labels.ru: missing"),
    (_set(["transitions", "default", "archive"], ["Archive"]), "transitions.default.archive: unknown action"),
    (_set(["transitions", "projects"], {"SUP": {"resolve": [""]}}), "transitions.projects.SUP.resolve[0]: empty"),
    (_set(["status_rules", 0, "notes"], {"en": "only English"}), "status_rules[0].notes.ru: missing"),
    (_drop(["statuses"]), "statuses: missing"),
    (_set(["status_rules"], "not a list"), "status_rules: "),
]


@pytest.mark.parametrize(("mutate", "expected"), CASES, ids=[c[1] for c in CASES])
def test_message_names_the_entry(mutate: Callable[[dict[str, Any]], None], expected: str) -> None:
    messages = _errors(mutate)
    assert any(m.startswith(expected) for m in messages), messages


def test_every_problem_is_listed() -> None:
    def mutate(doc: dict[str, Any]) -> None:
        del doc["statuses"]["awaiting_customer"]["labels"]["ru"]
        doc["status_rules"][3]["customer_status"] = "foo"
        doc["priority_fallback"] = "urgent"

    messages = _errors(mutate)
    assert len(messages) == 3
    assert "statuses.awaiting_customer.labels.ru: missing" in messages
    assert "status_rules[3].customer_status: unknown status 'foo'" in messages
    assert str(MappingError(messages)).count("\n") == 3


@pytest.mark.parametrize("text", ["", "- a list\n", "statuses: [unclosed", "42", b"\xff\xfe"])
def test_bad_yaml_text_raises_mapping_error(text: str | bytes) -> None:
    with pytest.raises(MappingError) as info:
        load_yaml(text)
    assert info.value.messages and info.value.messages[0].startswith("(document)")


def test_non_text_input_raises_mapping_error() -> None:
    with pytest.raises(MappingError):
        load_yaml(None)  # type: ignore[arg-type]


def test_numeric_ids_in_yaml_are_strings(tmp_path: Any) -> None:
    doc = load_default().to_dict()
    doc["status_rules"].append({"jira_id": 10001, "customer_status": "closed", "request_type": 7})
    m = Mapping.from_dict(doc)
    assert m.resolve_status("10001", None, None, None, "7").key == "closed"
    path = tmp_path / "m.yaml"
    path.write_text(m.to_yaml(), encoding="utf-8")
    assert load_file(path) == m
    assert m.to_dict()["status_rules"][-1]["jira_id"] == "10001"


def test_validate_on_a_loaded_mapping_is_clean() -> None:
    assert load_default().validate() == []
