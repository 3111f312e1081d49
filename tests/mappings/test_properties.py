"""Property tests: resolution is total and never raises; documents round-trip; errors name their entry."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mappings import Mapping, MappingError, load_default, load_yaml
from mappings.normalize import norm_name
from tests.mappings.strategies import categories, documents, messy, names

M = load_default()
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DOCS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(messy, messy, categories, messy, messy)
def test_default_status_resolution_is_total(sid: Any, name: Any, cat: Any, project: Any, rtype: Any) -> None:
    r = M.resolve_status(sid, name, cat, project, rtype)
    assert M.status(r.key).bucket == r.bucket
    assert r.fell_back == (r.matched_by in ("category", "default"))


@FAST
@given(messy, messy)
def test_default_priority_resolution_is_total(pid: Any, name: Any) -> None:
    p = M.resolve_priority(pid, name)
    assert M.priority(p.key).rank == p.rank
    if p.fell_back:
        assert (p.key, p.matched_by) == ("medium", "default")


@FAST
@given(st.sampled_from([r["jira_name"] for r in M.to_dict()["status_rules"]]), st.data())
def test_default_names_match_in_any_case_and_spacing(name: str, data: st.DataObject) -> None:
    expected = M.resolve_status(None, name, None).key
    mangled = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in name)
    mangled = data.draw(st.sampled_from(["", " ", "\t", "\u00a0"])) + mangled.replace(" ", "  \n ") + " "
    assert M.resolve_status(None, mangled, "done").key == expected


@DOCS
@given(documents())
def test_generated_documents_validate_and_round_trip(doc: dict[str, Any]) -> None:
    m = Mapping.from_dict(doc)
    assert m.validate() == []
    again = load_yaml(m.to_yaml())
    assert again == m
    assert again.to_dict() == m.to_dict()
    assert Mapping.from_dict(m.to_dict()) == m


@DOCS
@given(documents(), messy, messy, categories, st.sampled_from([None, "ABC", "abc", "SUP"]),
       st.sampled_from([None, "1", "2", 2]))
def test_generated_mapping_resolves_to_an_existing_status(
    doc: dict[str, Any], sid: Any, name: Any, cat: Any, project: Any, rtype: Any
) -> None:
    m = Mapping.from_dict(doc)
    r = m.resolve_status(sid, name, cat, project, rtype)
    assert m.status(r.key).bucket == r.bucket
    assert m.priority(m.resolve_priority(sid, name).key)


@DOCS
@given(documents(), st.data())
def test_generated_rules_are_honoured(doc: dict[str, Any], data: st.DataObject) -> None:
    unscoped = [r for r in doc["status_rules"] if "project" not in r and "request_type" not in r]
    if not unscoped:
        return
    rule = data.draw(st.sampled_from(unscoped))
    m = Mapping.from_dict(doc)
    r = m.resolve_status(rule.get("jira_id"), rule.get("jira_name"), None)
    assert not r.fell_back
    # A rule also matched by another rule's id may legitimately win; otherwise this rule decides.
    if r.rule_index is not None and doc["status_rules"][r.rule_index] is rule:
        assert r.key == rule["customer_status"]


@DOCS
@given(documents(), st.data())
def test_breaking_a_reference_names_the_entry(doc: dict[str, Any], data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["label", "rule", "fallback", "priority"]))
    if kind == "label":
        key = data.draw(st.sampled_from(sorted(doc["statuses"])))
        loc = data.draw(st.sampled_from(["en", "ru"]))
        field = data.draw(st.sampled_from(["labels", "descriptions"]))
        del doc["statuses"][key][field][loc]
        expected = f"statuses.{key}.{field}.{loc}: missing"
    elif kind == "rule" and doc["status_rules"]:
        i = data.draw(st.integers(0, len(doc["status_rules"]) - 1))
        doc["status_rules"][i]["customer_status"] = "NOT_A_STATUS"
        expected = f"status_rules[{i}].customer_status: unknown status 'NOT_A_STATUS'"
    elif kind == "priority" and doc["priority_rules"]:
        i = data.draw(st.integers(0, len(doc["priority_rules"]) - 1))
        doc["priority_rules"][i]["customer_priority"] = "zz-top"
        expected = f"priority_rules[{i}].customer_priority: unknown priority 'zz-top'"
    else:
        doc["status_fallbacks"]["done"] = "NOT_A_STATUS"
        expected = "status_fallbacks.done: unknown status 'NOT_A_STATUS'"
    try:
        Mapping.from_dict(doc)
    except MappingError as exc:
        assert expected in exc.messages, exc.messages
    else:
        raise AssertionError(f"no MappingError; expected {expected!r}")


@FAST
@given(st.text(max_size=200))
def test_arbitrary_yaml_text_never_crashes_the_loader(text: str) -> None:
    try:
        load_yaml(text)
    except MappingError as exc:
        assert exc.messages and all(isinstance(m, str) for m in exc.messages)


@FAST
@given(names)
def test_transition_names_match_case_insensitively(name: str) -> None:
    # Case mapping is not always reversible (Turkish "ı".upper() is "I"); such names are out of scope.
    assume(norm_name(name.upper()) == norm_name(name) == norm_name(name.lower()))
    doc = load_default().to_dict()
    doc["transitions"]["default"]["resolve"] = [name]
    m = Mapping.from_dict(doc)
    assert m.transition_matches("resolve", name.upper().strip())
    assert m.pick_transition("resolve", [{"id": "1", "name": f" {name.lower()} "}]) is not None


@FAST
@given(st.lists(st.tuples(messy, messy, categories, messy, messy), min_size=1, max_size=4))
def test_remembered_resolutions_are_those_made_afresh(asks: list[tuple[Any, ...]]) -> None:
    # The mapping remembers what it resolved (the inbox asks the same few statuses for every event):
    # in any order of asking, including values equal as keys but not as input (1, 1.0, True, "1").
    document = M.to_dict()
    document["priority_rules"].insert(0, {"jira_id": "1", "customer_priority": "high"})  # 1 and True differ
    mapping = Mapping.from_dict(document)
    for sid, name, cat, project, rtype in [*asks, *asks, (1, "x", None, None, None), (True, "x", None, None, None)]:
        fresh = Mapping.from_dict(document)  # has resolved nothing yet
        assert mapping.resolve_status(sid, name, cat, project, rtype) == \
            fresh.resolve_status(sid, name, cat, project, rtype)
        assert mapping.resolve_priority(sid, name) == fresh.resolve_priority(sid, name)
