"""Hypothesis strategies producing valid mapping documents and messy Jira inputs."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from mappings.normalize import norm_name

# Which buckets each action may appear in (mirrors the domain rules the validator enforces).
ACTIONS_BY_BUCKET = {
    "open": ["comment", "attach", "resolve", "cancel"],
    "resolved": ["comment", "attach", "reopen", "rate"],
    "closed": ["reopen", "rate"],
}

keys = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
# Printable text that survives stripping; YAML round trips must cope with any of it.
texts = st.text(min_size=1, max_size=30).map(str.strip).filter(bool)
colours = st.from_regex(r"#[0-9a-f]{6}", fullmatch=True)
ids = st.integers(min_value=1, max_value=99999).map(str)
names = texts.filter(lambda t: norm_name(t) is not None)
# Odd spellings of Jira's status categories, plus arbitrary garbage.
categories = st.one_of(
    st.none(),
    st.sampled_from(["new", "NEW", "indeterminate", "INDETERMINATE", "done", "DONE", "undefined", "UNDEFINED"]),
    st.text(max_size=20),
)
messy = st.one_of(st.none(), st.text(max_size=40), st.integers(), ids, names.map(lambda n: f"  {n.upper()}\t"))


def locale_texts() -> st.SearchStrategy[dict[str, str]]:
    """{en, ru} texts, sometimes with an extra locale."""
    return st.fixed_dictionaries({"en": texts, "ru": texts}, optional={"de": texts})


@st.composite
def status_defs(draw: st.DrawFn) -> dict[str, Any]:
    """One valid customer status."""
    bucket = draw(st.sampled_from(["open", "resolved", "closed"]))
    actions = draw(st.lists(st.sampled_from(ACTIONS_BY_BUCKET[bucket]), unique=True))
    return {
        "bucket": bucket,
        "colour": draw(colours),
        "labels": draw(locale_texts()),
        "descriptions": draw(locale_texts()),
        "actions": actions,
    }


@st.composite
def rules(draw: st.DrawFn, targets: list[str], target_key: str) -> list[dict[str, Any]]:
    """Rules without duplicate (scope, id/name) pairs, some scoped to a project or request type."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for _ in range(draw(st.integers(0, 12))):
        rule: dict[str, Any] = {target_key: draw(st.sampled_from(targets))}
        if draw(st.booleans()):
            rule["jira_id"] = draw(ids)
        if "jira_id" not in rule or draw(st.booleans()):
            rule["jira_name"] = draw(names)
        if target_key == "customer_status":
            if draw(st.booleans()):
                rule["project"] = draw(st.sampled_from(["ABC", "SUP"]))
            if draw(st.booleans()):
                rule["request_type"] = draw(st.sampled_from(["1", "2"]))
        scope = (rule.get("project"), rule.get("request_type"))
        marks = {(*scope, "id", rule.get("jira_id")), (*scope, "name", norm_name(rule.get("jira_name")))}
        marks = {m for m in marks if m[-1] is not None}
        if marks & seen:
            continue
        seen |= marks
        out.append(rule)
    return out


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A complete valid mapping document."""
    statuses = draw(st.dictionaries(keys, status_defs(), min_size=1, max_size=6))
    skeys = list(statuses)
    pkeys = draw(st.lists(keys, min_size=1, max_size=4, unique=True))
    priorities = {
        k: {"rank": i, "labels": draw(locale_texts()), "descriptions": draw(locale_texts())}
        for i, k in enumerate(pkeys)
    }
    fallbacks = {c: draw(st.sampled_from(skeys)) for c in ("new", "indeterminate", "done", "default")}
    category_keys = draw(st.lists(keys, max_size=3, unique=True))
    cats = [
        {"key": k, "labels": draw(locale_texts()), "request_types": {"ids": draw(st.lists(ids, max_size=2))}}
        for k in category_keys
    ]
    transitions = {"default": draw(st.dictionaries(st.sampled_from(["resolve", "cancel", "reopen", "respond"]),
                                                   st.lists(names, min_size=1, max_size=3)))}
    return {
        "version": 1,
        "statuses": statuses,
        "priorities": priorities,
        "status_rules": draw(rules(skeys, "customer_status")),
        "status_fallbacks": fallbacks,
        "priority_rules": draw(rules(pkeys, "customer_priority")),
        "priority_fallback": draw(st.sampled_from(pkeys)),
        "categories": cats,
        "transitions": transitions,
    }
