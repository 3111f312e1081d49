"""Gateway reads against the stand-in over HTTP: auth and shapes on Cloud and Data Center, paging."""

from __future__ import annotations

import math

from sync.jsm.snapshots import CommentSnapshot, IssueSnapshot
from tests.gateway.conftest import make_gateway


def test_site_and_account(site, gateway):
    me = gateway.myself()
    assert me.email == site.email and me.time_zone == "Etc/UTC"
    info = gateway.server_info()
    assert info.deployment_type == ("Cloud" if site.sandbox.cloud else "Server")
    desks = gateway.list_service_desks()
    assert {d.project_key for d in desks} == {"SUP", "HELP"}
    types = gateway.list_request_types(desks[0].id)
    assert types and all(t.service_desk_id == desks[0].id for t in types)
    fields = gateway.request_type_fields(desks[0].id, types[0].id)
    assert any(f.field_id == "summary" and f.required for f in fields.fields)
    assert gateway.calls == {"myself": 1, "server_info": 1, "sd.servicedesks": 1, "sd.request_types": 1,
                             "sd.request_type_fields": 1}


def test_search_pages_cross_boundaries(site, gateway):
    with site.state.lock:
        expected = {r.key for r in site.state.requests.values() if r.key.startswith("SUP-")}
    page_size = 7
    keys = [i.key for i in gateway.search_issues(["SUP"], None, page_size)]
    assert len(keys) == len(set(keys)) and set(keys) == expected
    assert gateway.last_search.pages == math.ceil(len(expected) / page_size)
    assert gateway.last_search.total == (None if site.sandbox.cloud else len(expected))
    # One field list lookup, then exactly one call per page: no per-issue calls.
    assert gateway.calls == {"fields": 1, "search": gateway.last_search.pages}


def test_search_updated_since_and_order(site, gateway):
    issues = list(gateway.search_issues(["SUP", "HELP"], None, 100))
    pivot = sorted(i.updated for i in issues)[len(issues) // 2]
    later = list(gateway.search_issues(["SUP", "HELP"], pivot, 100))
    assert later and all(i.updated >= pivot.replace(second=0, microsecond=0) for i in later)
    assert [i.updated for i in later] == sorted(i.updated for i in later)
    assert {i.key for i in issues if i.updated >= pivot} <= {i.key for i in later}


def test_get_issue_and_missing(site, gateway):
    issue = gateway.get_issue("SUP-1")
    assert isinstance(issue, IssueSnapshot) and issue.key == "SUP-1" and issue.request_type_id
    assert isinstance(issue.description, str)  # v2: a string, never an ADF document
    assert gateway.get_issue("SUP-999999") is None
    assert gateway.request_organisations("SUP-1") == issue.organisations


def test_comments_visibility_and_paging(site, gateway, control):
    key = control("POST", "/requests", {"summary": "many comments"})["key"]
    for n in range(105):
        control("POST", f"/requests/{key}/comment", {"body": f"c{n}", "public": n % 10 != 0})
    comments = gateway.list_comments(key)
    assert [c.body for c in comments] == [f"c{n}" for n in range(105)]
    assert all(isinstance(c, CommentSnapshot) and c.public is (n % 10 != 0) for n, c in enumerate(comments))
    assert gateway.calls["sd.comments"] == 2  # 100 + 5 across the isLastPage boundary
    public_only = gateway.list_comments(key, include_internal=False)
    assert len(public_only) == 105 - 11
    issue_id = gateway.get_issue(key).jira_id
    assert gateway.comment_visibility(issue_id, comments[0].jira_id) is False
    assert gateway.comment_visibility(issue_id, comments[1].jira_id) is True


def test_customer_sees_only_public_comments(site, control):
    with site.state.lock:
        customer = next(a for a in site.state.accounts.values() if a.kind == "customer")
    key = control("POST", "/requests", {"summary": "customer view", "reporter": customer.email})["key"]
    control("POST", f"/requests/{key}/comment", {"body": "internal note", "public": False})
    control("POST", f"/requests/{key}/comment", {"body": "public reply", "public": True})
    if not site.sandbox.cloud:
        return  # a DC PAT always acts as its owner (the admin)
    as_customer = make_gateway(site, email=customer.email)
    assert [c.body for c in as_customer.list_comments(key)] == ["public reply"]
