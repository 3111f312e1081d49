"""Drive the stand-in over real HTTP with atlassian-python-api, as the sync would (Cloud and Data Center)."""

from __future__ import annotations

import pytest
import requests
from atlassian import Jira, ServiceDesk

from sandbox import catalog


@pytest.fixture(scope="module")
def sd(cloud):
    return ServiceDesk(cloud.url, username=cloud.email, password=cloud.token, cloud=True)


@pytest.fixture(scope="module")
def jira(cloud):
    return Jira(cloud.url, username=cloud.email, password=cloud.token, cloud=True)


def test_service_desks_and_request_types(sd):
    desks = sd.get_service_desks()
    assert [(d["projectKey"], d["projectName"]) for d in desks] == [("SUP", "Technical support"),
                                                                    ("HELP", "Customer support")]
    assert [t["name"] for t in sd.get_request_types("SUP")["values"]] == [
        "Incident", "Defect", "Consultation", "Feature request"]
    fields = sd.get_request_type_fields("HELP", "23")["requestTypeFields"]
    subtype = next(f for f in fields if f["fieldId"] == "customfield_10200")
    assert [v["label"] for v in subtype["validValues"]] == ["metric billing request", "other"]
    prio = next(f for f in fields if f["fieldId"] == "priority")
    assert [v["label"] for v in prio["validValues"]] == ["Highest", "High", "Medium", "Low", "Lowest"]


def test_request_lifecycle(sd, cloud, tmp_path):
    req = sd.create_customer_request("HELP", "23", {"summary": "Счёт за март", "description": "Нужен счёт",
                                                    "customfield_10200": {"value": "metric billing request"}},
                                     raise_on_behalf_of="customer3@example.com")
    key = req["issueKey"]
    assert key.startswith("HELP-") and req["currentStatus"]["status"] == "Waiting for Support"
    assert req["reporter"]["emailAddress"] == "customer3@example.com"
    sd.create_request_comment(key, "Внутренняя заметка", public=False)
    sd.create_request_comment(key, "Please send the contract number", public=True)
    assert len(sd.get_request_comments(key)) == 2
    assert [c["public"] for c in sd.get_request_comments(key, internal=False)] == [True]
    customer = ServiceDesk(cloud.url, username="customer3@example.com", password=cloud.token, cloud=True)
    assert [c["body"] for c in customer.get_request_comments(key)] == ["Please send the contract number"]
    assert key in [r["issueKey"] for r in customer.get_my_customer_requests()]
    names = {t["name"]: t["id"] for t in customer.get_customer_transitions(key)["values"]}
    assert names == {"Resolve this issue": "901", "Cancel request": "911"}
    customer.perform_transition(key, names["Resolve this issue"])  # sends additionalComment {"body": null}
    assert sd.get_customer_request_status(key) == "Resolved"
    assert [t["name"] for t in customer.get_customer_transitions(key)["values"]] == ["Reopen", "Close request"]
    path = tmp_path / "invoice.txt"
    path.write_text("invoice")
    temp_id = sd.attach_temporary_file("HELP", str(path))
    result = sd.add_attachment(key, temp_id, comment="attached")
    assert result["attachments"]["values"][0]["filename"] == "invoice.txt"
    assert sd.get_sla(key) == []  # the free-support desk (HELP) has no SLA; tests/policies cover the paid one


def test_people(sd):
    orgs = sd.get_organisations()["values"]
    assert len(orgs) == 3
    users = sd.get_users_in_organization(orgs[0]["id"])["values"]
    assert users and all("@" in u["emailAddress"] for u in users)
    assert sd.get_customers("SUP", query="customer1")["values"]


def test_platform_search_and_workflow(jira, cloud):
    with cloud.state.lock:
        expected = sorted(r.key for r in cloud.state.requests.values() if r.desk_id == "1")
    # `limit` caps the total in this library; pages of 50 are walked through nextPageToken.
    issues = jira.enhanced_jql_get_list_of_tickets("project = SUP ORDER BY updated ASC, key", fields="updated")
    assert sorted(i["key"] for i in issues) == expected
    updated = [i["fields"]["updated"] for i in issues]
    assert updated == sorted(updated)
    page = jira.jql('project in (SUP, HELP) AND updated >= "2000-01-01 00:00"', fields="summary", limit=3)
    assert page["isLast"] is False and len(page["issues"]) == 3 and "nextPageToken" in page
    key = jira.jql("project = SUP AND status = \"Waiting for Support\"", fields="status")["issues"][0]["key"]
    targets = {t["to"] for t in jira.get_issue_transitions(key)}
    assert "In Progress" in targets and "Release Waiting" not in targets
    jira.set_issue_status(key, "In Progress")
    assert jira.get_issue_status(key) == "In Progress"
    comment = jira.issue_add_comment(key, "from the platform API")
    assert comment["jsdPublic"] is True
    issue = jira.get_issue(key)
    assert issue["fields"]["comment"]["comments"][-1]["body"] == "from the platform API"
    assert {s["name"] for s in jira.get_all_statuses()} == {s.name for s in catalog.STATUSES}
    assert [p["name"] for p in jira.get_all_priorities()] == ["Highest", "High", "Medium", "Low", "Lowest"]
    assert jira.myself()["emailAddress"] == cloud.email


def test_errors_surface_as_http_errors(sd, jira):
    with pytest.raises(requests.HTTPError):
        sd.get_customer_request("NOPE-1")
    with pytest.raises(requests.HTTPError):
        jira.get_issue("NOPE-1")
    with pytest.raises(ValueError):
        jira.jql("project = SUP", start=50)  # the library refuses offsets on Cloud


def test_datacenter_with_pat(dc):
    jira = Jira(dc.url, token=dc.token)
    with dc.state.lock:
        expected = sum(1 for r in dc.state.requests.values() if r.desk_id == "2")
    issues = jira.jql_get_list_of_tickets("project = HELP ORDER BY key", fields="status")
    assert len(issues) == expected  # paged with startAt/total through /rest/api/2/search
    assert [i["key"] for i in issues[:2]] == ["HELP-1", "HELP-2"]
    assert jira.jql("project = HELP", limit=1)["total"] == expected
    sd = ServiceDesk(dc.url, token=dc.token)
    assert len(sd.get_service_desks()) == 2
    with pytest.raises(requests.HTTPError):
        Jira(dc.url, username=dc.email, password="wrong").myself()
