"""Table tests: every status rule of default.yaml, the vocabulary and the category fallbacks."""

from __future__ import annotations

import pytest

from mappings import CUSTOMER_ACTIONS, load_default

M = load_default()

# Written out by hand from the domain documents, not derived from default.yaml, so a changed rule fails.
EXPRESS = {
    "Waiting for Support": "open",
    "Waiting for Customer": "awaiting_customer",
    "Проверяется": "in_progress",
    "In Progress": "in_progress",
    "Escalated": "awaiting_fix",
    "Analyse": "in_progress",
    "Backlog": "awaiting_fix",
    "In Development": "awaiting_fix",
    "On Hold": "on_hold",
    "Release Waiting": "awaiting_fix",
    "Resolved": "resolved",
    "Canceled": "canceled",
    "Closed": "closed",
}
EXPRESS_RU = {
    "Ожидание поддержки": "open",
    "Ожидание заявителя": "awaiting_customer",
    "В работе": "in_progress",
    "Передано в разработку": "awaiting_fix",
    "Анализируется": "in_progress",
    "Заведено, ждём": "awaiting_fix",
    "В активной разработке": "awaiting_fix",
    "На паузе": "on_hold",
    "Ждём выпуск": "awaiting_fix",
    "Решено": "resolved",
    "Отменено": "canceled",
    "Закрыто": "closed",
}
COMMON = {
    "Open": "open",
    "To Do": "open",
    "New": "open",
    "Reopened": "open",
    "Waiting for approval": "open",
    "Work in progress": "in_progress",
    "Under investigation": "in_progress",
    "Investigating": "in_progress",
    "Awaiting implementation": "awaiting_fix",
    "Pending": "on_hold",
    "Done": "resolved",
    "Completed": "resolved",
    "Cancelled": "canceled",
    "Declined": "canceled",
    "Rejected": "canceled",
    "Won't Do": "canceled",
    "Won't Fix": "canceled",
}
PORTALS = {
    "Новый": "open",
    "Открыт": "open",
    "Переоткрыт": "open",
    "Waiting for information": "awaiting_customer",
    "В ожидании информации": "awaiting_customer",
    "Ожидание информации": "awaiting_customer",
    "Awaiting reply": "awaiting_customer",
    "Ожидает ответа": "awaiting_customer",
    "Waiting for fix": "awaiting_fix",
    "Waiting for implementation": "awaiting_fix",
    "Ожидание исправления": "awaiting_fix",
    "Ожидание реализации": "awaiting_fix",
    "Waiting for closure": "resolved",
    "В ожидании закрытия": "resolved",
    "Ожидание закрытия": "resolved",
    "Закрыт": "closed",
    "Отклонен": "canceled",
    "Отклонено": "canceled",
}
ALL_NAMES = {**EXPRESS, **EXPRESS_RU, **COMMON, **PORTALS}
BUCKET = {
    "open": "open",
    "in_progress": "open",
    "awaiting_customer": "open",
    "awaiting_fix": "open",
    "on_hold": "open",
    "resolved": "resolved",
    "closed": "closed",
    "canceled": "closed",
}


@pytest.mark.parametrize(("name", "expected"), sorted(ALL_NAMES.items()))
def test_named_status_maps(name: str, expected: str) -> None:
    # The category is deliberately contradictory: a name rule must win over the fallback.
    r = M.resolve_status("999999", name, "undefined")
    assert (r.key, r.bucket, r.fell_back, r.matched_by) == (expected, BUCKET[expected], False, "name")


def test_table_covers_every_default_rule() -> None:
    rule_names = {r["jira_name"] for r in M.to_dict()["status_rules"]}
    assert rule_names == set(ALL_NAMES)


@pytest.mark.parametrize("name", ["waiting for customer", "  WAITING   for\tCustomer\n", "Waiting\u00a0for Customer"])
def test_name_match_ignores_case_and_whitespace(name: str) -> None:
    assert M.resolve_status(None, name, None).key == "awaiting_customer"


def test_yo_and_ye_spellings_match() -> None:
    assert M.resolve_status(None, "Ждем выпуск", None).key == "awaiting_fix"
    assert M.resolve_status(None, "заведено, ЖДЕМ", None).key == "awaiting_fix"


@pytest.mark.parametrize("name", sorted(EXPRESS))
def test_express_statuses_carry_notes_in_both_languages(name: str) -> None:
    r = M.resolve_status(None, name, None)
    assert r.note("en") and r.note("ru")
    assert r.note("ru") != r.note("en")


@pytest.mark.parametrize(
    ("category", "expected", "matched_by"),
    [
        ("new", "open", "category"),
        ("NEW", "open", "category"),
        ("indeterminate", "in_progress", "category"),
        ("INDETERMINATE", "in_progress", "category"),
        ("done", "resolved", "category"),
        ("DONE", "resolved", "category"),
        (" Done ", "resolved", "category"),
        ("To Do", "open", "category"),
        ("In Progress", "in_progress", "category"),
        ("undefined", "open", "default"),
        ("UNDEFINED", "open", "default"),
        ("", "open", "default"),
        (None, "open", "default"),
        ("something else", "open", "default"),
    ],
)
def test_unmapped_status_falls_back_by_category(category: str | None, expected: str, matched_by: str) -> None:
    r = M.resolve_status("424242", "A status nobody mapped", category)
    assert (r.key, r.fell_back, r.matched_by, r.note()) == (expected, True, matched_by, None)


VOCABULARY = ["open", "in_progress", "awaiting_customer", "awaiting_fix", "on_hold", "resolved", "closed", "canceled"]


def test_vocabulary_order_and_buckets() -> None:
    assert [s.key for s in M.statuses] == VOCABULARY
    assert {s.key: s.bucket for s in M.statuses} == BUCKET
    assert M.keys_in_bucket("closed") == ("closed", "canceled")


@pytest.mark.parametrize("key", VOCABULARY)
def test_every_status_has_texts_and_colour(key: str) -> None:
    s = M.status(key)
    assert s.colour.startswith("#")
    for loc in ("en", "ru"):
        assert s.label(loc) and s.description(loc)
    assert s.label("ru") != s.label("en")
    assert s.label("de") == s.label("en")  # unknown locale → English
    assert s.label("ru-RU") == s.label("ru") == s.label("RU_ru")


def test_natural_russian_labels() -> None:
    assert M.status("awaiting_customer").label("ru") == "Ожидает вашего ответа"
    assert M.status("in_progress").label("ru") == "В работе"
    assert M.status("on_hold").label("ru") == "На паузе"


def test_actions_follow_the_domain() -> None:
    for s in M.statuses:
        assert set(s.actions) <= set(CUSTOMER_ACTIONS)
        if s.bucket == "closed":
            assert not s.allows("comment"), s.key  # 000/001: no comments once closed
        if s.bucket == "open":
            assert {"comment", "attach", "resolve", "cancel"} <= set(s.actions)
            assert not s.allows("reopen") and not s.allows("rate")
    assert M.status("resolved").allows("reopen") and M.status("resolved").allows("rate")
    # JSM's customer workflow has no transition out of Closed: the portal offers a follow-up request there.
    assert M.status("closed").actions == ()
    assert not M.status("open").allows("no-such-action")
