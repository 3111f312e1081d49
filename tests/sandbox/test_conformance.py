"""Every stand-in endpoint answers in the shape of Atlassian's OpenAPI documents (../shared/jsm)."""

from __future__ import annotations

import io

import pytest

from sandbox.app import create_app
from tests.sandbox.conftest import basic, shared_jsm
from tests.sandbox.schemas import PLATFORM, SD, validate, validate_schema

ADMIN = basic("admin@sandbox.local")
SDP = "/rest/servicedeskapi"
EXPANDS = "participant,status,sla,requestType,serviceDesk,attachment,action,comment"


@pytest.fixture(scope="module")
def spec():
    return shared_jsm()


@pytest.fixture(scope="module")
def client():
    app = create_app(seed="demo")
    yield app.test_client()
    app.extensions["sandbox"].close()


@pytest.fixture(scope="module")
def dc_client():
    app = create_app(seed="demo", deployment="datacenter")
    yield app.test_client()
    app.extensions["sandbox"].close()


# (URL, spec path, method) for GETs on the demo data; SUP-1 exists in every demo seed.
SD_GETS = [
    (f"{SDP}/info", "/rest/servicedeskapi/info"),
    (f"{SDP}/servicedesk", "/rest/servicedeskapi/servicedesk"),
    (f"{SDP}/servicedesk/SUP", "/rest/servicedeskapi/servicedesk/{serviceDeskId}"),
    (f"{SDP}/servicedesk/1/requesttype?expand=field", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/requesttype"),
    (f"{SDP}/servicedesk/2/requesttype/23",
     "/rest/servicedeskapi/servicedesk/{serviceDeskId}/requesttype/{requestTypeId}"),
    (f"{SDP}/servicedesk/2/requesttype/23/field",
     "/rest/servicedeskapi/servicedesk/{serviceDeskId}/requesttype/{requestTypeId}/field"),
    (f"{SDP}/requesttype", "/rest/servicedeskapi/requesttype"),
    (f"{SDP}/request?limit=5&expand={EXPANDS}", "/rest/servicedeskapi/request"),
    (f"{SDP}/request/SUP-1?expand={EXPANDS}", "/rest/servicedeskapi/request/{issueIdOrKey}"),
    (f"{SDP}/request/SUP-1/status", "/rest/servicedeskapi/request/{issueIdOrKey}/status"),
    (f"{SDP}/request/SUP-1/comment?expand=renderedBody,attachment",
     "/rest/servicedeskapi/request/{issueIdOrKey}/comment"),
    (f"{SDP}/request/SUP-1/transition", "/rest/servicedeskapi/request/{issueIdOrKey}/transition"),
    (f"{SDP}/request/SUP-1/sla", "/rest/servicedeskapi/request/{issueIdOrKey}/sla"),
    (f"{SDP}/request/SUP-1/sla/2", "/rest/servicedeskapi/request/{issueIdOrKey}/sla/{slaMetricId}"),
    (f"{SDP}/request/SUP-1/participant", "/rest/servicedeskapi/request/{issueIdOrKey}/participant"),
    (f"{SDP}/request/SUP-1/attachment", "/rest/servicedeskapi/request/{issueIdOrKey}/attachment"),
    (f"{SDP}/organization", "/rest/servicedeskapi/organization"),
    (f"{SDP}/organization/1", "/rest/servicedeskapi/organization/{organizationId}"),
    (f"{SDP}/organization/1/user", "/rest/servicedeskapi/organization/{organizationId}/user"),
    (f"{SDP}/servicedesk/1/organization", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization"),
    (f"{SDP}/servicedesk/1/customer?query=example", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"),
]
PLATFORM_GETS = [
    ("/rest/api/3/search/jql?jql=project%20in%20(SUP,HELP)%20ORDER%20BY%20updated%20ASC&fields=*all&maxResults=20",
     "/rest/api/3/search/jql"),
    ("/rest/api/2/search/jql?jql=project%3DSUP&fields=summary,status,priority,updated", "/rest/api/3/search/jql"),
    ("/rest/api/2/issue/SUP-1", "/rest/api/3/issue/{issueIdOrKey}"),
    ("/rest/api/3/issue/SUP-1?expand=changelog", "/rest/api/3/issue/{issueIdOrKey}"),
    ("/rest/api/2/issue/SUP-2/transitions", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("/rest/api/2/issue/SUP-1/comment?expand=properties", "/rest/api/3/issue/{issueIdOrKey}/comment"),
    ("/rest/api/3/issue/SUP-1/comment", "/rest/api/3/issue/{issueIdOrKey}/comment"),
    ("/rest/api/3/issue/SUP-5/changelog", "/rest/api/3/issue/{issueIdOrKey}/changelog"),
    ("/rest/api/2/status", "/rest/api/3/status"),
    ("/rest/api/2/priority", "/rest/api/3/priority"),
    ("/rest/api/2/field", "/rest/api/3/field"),
    ("/rest/api/2/myself", "/rest/api/3/myself"),
    ("/rest/api/2/serverInfo", "/rest/api/3/serverInfo"),
]


@pytest.mark.parametrize(("url", "path"), SD_GETS, ids=[p for p, _ in SD_GETS])
def test_servicedeskapi_get(spec, client, url, path):
    resp = client.get(url, headers={**ADMIN, "X-ExperimentalApi": "opt-in"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    validate(spec, SD, path, "get", 200, resp.get_json())


@pytest.mark.parametrize(("url", "path"), PLATFORM_GETS, ids=[p for p, _ in PLATFORM_GETS])
def test_platform_get(spec, client, url, path):
    resp = client.get(url, headers=ADMIN)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    validate(spec, PLATFORM, path, "get", 200, resp.get_json())


def test_servicedeskapi_writes(spec, client):
    body = {"serviceDeskId": "2", "requestTypeId": "23",
            "requestFieldValues": {"summary": "Акт сверки", "description": "За 3 квартал",
                                   "priority": {"id": "2"}, "customfield_10200": {"value": "other"}}}
    resp = client.post(f"{SDP}/request", json=body, headers=ADMIN)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    validate(spec, SD, "/rest/servicedeskapi/request", "post", 201, resp.get_json())
    key = resp.get_json()["issueKey"]
    resp = client.post(f"{SDP}/request/{key}/comment", json={"body": "hi", "public": False}, headers=ADMIN)
    validate(spec, SD, "/rest/servicedeskapi/request/{issueIdOrKey}/comment", "post", 201, resp.get_json())
    cid = resp.get_json()["id"]
    resp = client.get(f"{SDP}/request/{key}/comment/{cid}", headers=ADMIN)
    validate(spec, SD, "/rest/servicedeskapi/request/{issueIdOrKey}/comment/{commentId}", "get", 200,
             resp.get_json())
    resp = client.post(f"{SDP}/request/{key}/participant", json={"accountIds": []}, headers=ADMIN)
    validate(spec, SD, "/rest/servicedeskapi/request/{issueIdOrKey}/participant", "post", 200, resp.get_json())
    resp = client.post(f"{SDP}/servicedesk/2/attachTemporaryFile", headers={
        **ADMIN, "X-ExperimentalApi": "opt-in", "X-Atlassian-Token": "no-check"},
        data={"file": (io.BytesIO(b"hello"), "hello.txt")}, content_type="multipart/form-data")
    assert resp.status_code == 201
    temp = resp.get_json()["temporaryAttachments"][0]
    assert set(temp) == {"temporaryAttachmentId", "fileName"}
    resp = client.post(f"{SDP}/request/{key}/attachment", headers=ADMIN, json={
        "temporaryAttachmentIds": [temp["temporaryAttachmentId"]], "public": True,
        "additionalComment": {"body": "see file"}})
    assert resp.status_code == 201
    validate(spec, SD, "/rest/servicedeskapi/request/{issueIdOrKey}/attachment", "post", 201, resp.get_json())
    assert client.post(f"{SDP}/request/{key}/transition", json={"id": "901"}, headers=ADMIN).status_code == 204
    resp = client.post(f"{SDP}/request/{key}/feedback", json={"rating": 4, "comment": {"body": "ok"}, "type": "csat"},
                       headers=ADMIN)
    validate(spec, SD, "/rest/servicedeskapi/request/{requestIdOrKey}/feedback", "post", 201, resp.get_json())
    resp = client.get(f"{SDP}/request/{key}/feedback", headers=ADMIN)
    validate(spec, SD, "/rest/servicedeskapi/request/{requestIdOrKey}/feedback", "get", 200, resp.get_json())
    assert client.delete(f"{SDP}/request/{key}/feedback", headers=ADMIN).status_code == 204
    resp = client.post(f"{SDP}/customer", json={"email": "new@example.com", "displayName": "New One"}, headers=ADMIN)
    validate(spec, SD, "/rest/servicedeskapi/customer", "post", 201, resp.get_json())


def test_platform_writes(spec, client):
    resp = client.post("/rest/api/2/issue/SUP-2/comment", headers=ADMIN, json={
        "body": "internal", "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]})
    assert resp.status_code == 201
    validate(spec, PLATFORM, "/rest/api/3/issue/{issueIdOrKey}/comment", "post", 201, resp.get_json())
    cid = resp.get_json()["id"]
    assert resp.get_json()["jsdPublic"] is False
    resp = client.get(f"/rest/api/2/comment/{cid}/properties/sd.public.comment", headers=ADMIN)
    validate(spec, PLATFORM, "/rest/api/3/comment/{commentId}/properties/{propertyKey}", "get", 200,
             resp.get_json())
    assert resp.get_json()["value"] == {"internal": True}
    resp = client.get(f"/rest/api/2/issue/SUP-2/comment/{cid}", headers=ADMIN)
    validate(spec, PLATFORM, "/rest/api/3/issue/{issueIdOrKey}/comment/{id}", "get", 200, resp.get_json())


@pytest.mark.parametrize("url", ["/rest/servicedeskapi/request/NOPE-1", "/rest/servicedeskapi/servicedesk/99"])
def test_servicedeskapi_errors(spec, client, url):
    resp = client.get(url, headers=ADMIN)
    assert resp.status_code == 404
    validate_schema(spec, SD, "ErrorResponse", resp.get_json())
    assert set(resp.get_json()) == {"errorMessage", "i18nErrorMessage"}


@pytest.mark.parametrize(("url", "status"), [("/rest/api/2/issue/NOPE-1", 404),
                                             ("/rest/api/3/search/jql?jql=ORDER%20BY%20key", 400),
                                             ("/rest/api/3/search/jql?jql=projct%3DSUP", 400),
                                             ("/rest/api/2/search?jql=project%3DSUP", 410)])
def test_platform_errors(spec, client, url, status):
    resp = client.get(url, headers=ADMIN)
    assert resp.status_code == status
    validate_schema(spec, PLATFORM, "ErrorCollection", resp.get_json())


def test_unauthenticated_is_401_in_both_shapes(client):
    assert client.get(f"{SDP}/servicedesk").status_code == 401
    assert "errorMessage" in client.get(f"{SDP}/servicedesk").get_json()
    assert "errorMessages" in client.get("/rest/api/2/myself", headers=basic("admin@sandbox.local", "x")).get_json()


def test_datacenter_shapes(spec, dc_client):
    pat = {"Authorization": "Bearer sandbox-token"}
    assert dc_client.get(f"{SDP}/servicedesk", headers=ADMIN).status_code == 200  # DC also takes Basic
    resp = dc_client.get("/rest/api/2/search?jql=project%3DSUP&startAt=10&maxResults=5", headers=pat)
    assert resp.status_code == 200
    validate(spec, PLATFORM, "/rest/api/3/search", "get", 200, resp.get_json())
    body = resp.get_json()
    assert body["startAt"] == 10 and body["total"] > 10 and len(body["issues"]) == 5
    issue = body["issues"][0]
    assert "name" in issue["fields"]["reporter"] and "accountId" not in issue["fields"]["reporter"]
    assert all("jsdPublic" not in c for c in issue["fields"]["comment"]["comments"])
    resp = dc_client.get(f"{SDP}/request/SUP-1?expand={EXPANDS}", headers=pat)
    validate(spec, SD, "/rest/servicedeskapi/request/{issueIdOrKey}", "get", 200, resp.get_json())
    assert dc_client.get("/rest/api/3/search/jql?jql=project%3DSUP", headers=pat).status_code == 404
    assert dc_client.get("/rest/api/2/myself", headers={"Authorization": "Bearer wrong"}).status_code == 401
