"""GET /api/v1/openapi.json: the OpenAPI 3.1 description of the JSON API (kept complete by a test)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {"400": _json(_ref("Error"), "Invalid input; `error` says what"),
           "401": _json(_ref("Error"), "No or bad bearer token / session"),
           "404": _json(_ref("Error"), "Not found, or outside the caller's scope")}
_KEY = [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}, "example": "SUP-12"}]
_ACCEPTED = {"202": _json({"type": "object", "properties": {"sync": _ref("Sync")}},
                          "Accepted; pending until JSM confirms"), **_ERRORS,
             "409": _json(_ref("Error"), "Not allowed in the ticket's customer status")}


_NOTIFICATIONS = {"type": "object", "properties": {"email": {"enum": ["instant", "daily", "off"]},
                                                  "locale": {"enum": ["en", "ru"]},
                                                  "monthly_report": {"type": "boolean"}}}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": responses, **extra}


def _int_path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


_NAMES = {"type": "array", "items": {"type": "string"}}
_USER_BODY: dict[str, Any] = {"type": "object", "properties": {
    "email": {"type": "string"}, "name": {"type": "string"}, "role": {"type": "string"},
    "organization": {"type": "string", "description": "slug or exact name"}, "groups": _NAMES, "roles": _NAMES}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


SCHEMAS: dict[str, Any] = {
    "Organization": {"type": "object", "properties": {
        "id": {"type": "integer"}, "slug": {"type": "string"}, "name": {"type": "string"},
        "jira_org_id": {"type": ["string", "null"]}, "members": {"type": "integer"},
        "requests": {"type": "object"}}},
    "AdminUser": {"type": "object", "properties": {
        "id": {"type": "integer"}, "email": {"type": "string"}, "name": {"type": "string"},
        "role": {"type": "string"}, "roles": _NAMES, "groups": _NAMES, "active": {"type": "boolean"},
        "organization": {"type": ["string", "null"]}, "last_login": {"type": ["string", "null"]},
        "invitation_url": {"type": "string"}}},
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "messages": {"type": "array"},
        "field": {"type": "string", "description": "the input field a 400 is about"}}},
    "Token": {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "created": {"type": "string", "format": "date-time"},
        "last_used": {"type": ["string", "null"]}, "revoked": {"type": ["string", "null"]}}},
    "Sync": {"type": "object", "properties": {
        "state": {"enum": ["synced", "pending", "failed"]}, "last_synced": {"type": ["string", "null"]},
        "error": {"type": ["string", "null"]}}},
    "Ticket": {"type": "object", "required": ["key", "summary", "status", "bucket", "priority", "can", "sync"],
               "properties": {
                   "key": {"type": "string"}, "summary": {"type": "string"},
                   "request_type": {"type": ["string", "null"]}, "organization": {"type": ["string", "null"]},
                   "status": {"type": "string"}, "status_label": {"type": "string"},
                   "status_description": {"type": "string"}, "bucket": {"enum": ["open", "resolved", "closed"]},
                   # Present (true) while a customer's reply is on its way and the label says so.
                   "status_optimistic": {"type": "boolean"},
                   "priority": {"type": "string"}, "priority_label": {"type": "string"},
                   "created": {"type": ["string", "null"], "format": "date-time"},
                   "updated": {"type": ["string", "null"], "format": "date-time"},
                   "resolved": {"type": ["string", "null"], "format": "date-time"},
                   "reporter": {"type": "object", "properties": {"name": {"type": ["string", "null"]}}},
                   "can": {"type": "array", "items": {"type": "string"}}, "sync": _ref("Sync"),
                   "jira": {"type": "object", "description": "admins only"}}},
    "Comment": {"type": "object", "properties": {
        "id": {"type": ["string", "null"], "description": "JSM comment id; null while pending"},
        "author": {"type": ["string", "null"]}, "from_support": {"type": "boolean"},
        "body_html": {"type": "string"}, "created": {"type": "string", "format": "date-time"},
        "sync": _ref("Sync")}},
    "TicketDetail": {"allOf": [_ref("Ticket"), {"type": "object", "properties": {
        "comments": {"type": "array", "items": _ref("Comment")},
        "history": {"type": "array", "items": {"type": "object", "properties": {
            "status": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}}}}]},
    "TicketPage": {"type": "object", "properties": {
        "items": {"type": "array", "items": _ref("Ticket")}, "page": {"type": "integer"},
        "per_page": {"type": "integer"}, "total": {"type": "integer"},
        "total_exact": {"type": "boolean", "description": "false when an administrator's list of every "
                                                         "organisation has more tickets than `total`, "
                                                         "where counting stopped"}}},
    "MappingDocument": {"type": "object", "description": "statuses, priorities, status_rules, priority_rules, "
                                                         "status_fallbacks, categories, transitions"},
}

_LIST_PARAMS = [{"name": n, "in": "query", "schema": {"type": t}} for n, t in (
    ("scope", "string"), ("status", "string"), ("priority", "string"), ("bucket", "string"), ("q", "string"),
    ("page", "integer"), ("per_page", "integer"))]
_COMMENT = {"type": "object", "properties": {"comment": {"type": "string"}}}

PATHS: dict[str, Any] = {
    "/api/v1/tickets": {
        "get": _op("Tickets in the caller's scope, newest activity first", {"200": _json(_ref("TicketPage")),
                                                                             **_ERRORS}, parameters=_LIST_PARAMS),
        "post": _op("Raise a request in JSM on the caller's behalf", _ACCEPTED, requestBody=_body({
            "type": "object", "required": ["service_desk", "request_type", "summary"], "properties": {
                "service_desk": {"type": "string"}, "request_type": {"type": "string"},
                "summary": {"type": "string"}, "description": {"type": "string"},
                "priority": {"type": "string"}, "fields": {"type": "object"}}}))},
    "/api/v1/tickets/{key}": {"get": _op("One ticket with public comments and history",
                                         {"200": _json(_ref("TicketDetail")), **_ERRORS}, parameters=_KEY)},
    "/api/v1/tickets/{key}/comments": {"post": _op("Add a public comment", _ACCEPTED, parameters=_KEY,
                                                   requestBody=_body({"type": "object", "required": ["body"],
                                                                      "properties": {"body": {"type": "string"}}}))},
    "/api/v1/tickets/{key}/rating": {"post": _op("Rate the work 1-5", _ACCEPTED, parameters=_KEY, requestBody=_body(
        {"type": "object", "required": ["score"], "properties": {"score": {"type": "integer", "minimum": 1,
                                                                           "maximum": 5},
                                                                 "comment": {"type": "string"}}}))},
    **{f"/api/v1/tickets/{{key}}/{action}": {"post": _op(f"{action.title()} the request", _ACCEPTED, parameters=_KEY,
                                                         requestBody=_body(_COMMENT))}
       for action in ("resolve", "cancel", "reopen")},
    "/api/v1/me/notifications": {
        "get": _op("The caller's e-mail notification settings", {"200": _json(_NOTIFICATIONS), **_ERRORS}),
        "put": _op("Change the caller's e-mail notification settings", {"200": _json(_NOTIFICATIONS), **_ERRORS},
                   requestBody=_body(_NOTIFICATIONS))},
    "/api/v1/actions/{action_uuid}": {"get": _op("State of a submitted action (e.g. the key of a new request)",
                                                 {"200": _json({"type": "object"}), **_ERRORS},
                                                 parameters=[{"name": "action_uuid", "in": "path", "required": True,
                                                              "schema": {"type": "string"}}])},
    "/api/v1/request-types": {"get": _op("Service desks and request types (with fields when ?fields=1)",
                                         {"200": _json({"type": "object"}), **_ERRORS})},
    "/api/v1/summary": {"get": _op("Roll-up of the caller's scope: headline, counts, medians, 90-day history, "
                                   "SLA results by month (of every organisation, or of an organisation, over "
                                   "10,000 requests, is a few minutes old: `counted_at` says when it was counted; "
                                   "before its first count it answers 202 `{\"counting\": true, "
                                   "\"retry_after_seconds\": 5}`)",
                                   {"200": _json({"type": "object"}),
                                    "202": _json({"type": "object"}, "Being counted: ask again later"),
                                    **_ERRORS})},
    "/api/v1/mapping": {
        "get": _op("The active mapping (admins also get the unmapped report)", {"200": _json({"type": "object"}),
                                                                                 **_ERRORS}),
        "put": _op("Admin: publish a new version and re-project every ticket",
                   {"202": _json({"type": "object"}), **_ERRORS},
                   requestBody=_body({"type": "object", "properties": {"document": _ref("MappingDocument"),
                                                                       "comment": {"type": "string"}}}))},
    "/api/v1/mapping/preview": {"post": _op("Admin: how many tickets a proposed mapping would move, "
                                            "and what its rules would close now and this week",
                                            {"200": _json({"type": "object"}), **_ERRORS},
                                            requestBody=_body({"type": "object", "properties": {
                                                "document": _ref("MappingDocument")}}))},
    "/api/v1/mapping/versions": {"get": _op("Admin: published versions", {"200": _json({"type": "object"}),
                                                                          **_ERRORS})},
    "/api/v1/mapping/rollback": {"post": _op("Admin: publish an earlier version again", {
        "202": _json({"type": "object"}), **_ERRORS}, requestBody=_body({"type": "object", "properties": {
            "version": {"type": "integer"}}}))},
    "/api/v1/mapping/restore-default": {"post": _op(
        "Admin: publish the default mapping (mappings.file, else the built-in one) again as a new version", {
            "202": _json({"type": "object"}), **_ERRORS}, requestBody=_body({"type": "object", "properties": {
                "comment": {"type": "string", "maxLength": 500}}}))},
    "/api/v1/mapping/progress": {"get": _op("Admin: progress of the latest re-projection",
                                            {"200": _json({"type": "object"}), **_ERRORS})},
    "/api/v1/admin/sync": {"get": _op("Admin: sync health (lag, backlog, failed events, JSM calls, last JSM 401/403)",
                                      {"200": _json({"type": "object"}), **_ERRORS})},
    "/api/v1/admin/outbox": {"get": _op("Admin: customer actions and their state",
                                        {"200": _json({"type": "object"}), **_ERRORS})},
    "/api/v1/admin/outbox/{action_id}/retry": {"post": _op("Admin: retry a failed action (audited)", {
        "202": _json({"type": "object"}), **_ERRORS}, parameters=[{"name": "action_id", "in": "path",
                                                                  "required": True, "schema": {"type": "integer"}}])},
    "/api/v1/admin/sync/events/{event_id}/retry": {"post": _op(
        "Admin: apply a failed webhook delivery again at the next drain (audited); 409 when it is not failed",
        {"202": _json({"type": "object"}), **_ERRORS}, parameters=[_int_path("event_id")])},
    "/api/v1/admin/organizations": {
        "get": _op("Admin: organisations with member and request counts", {"200": _json({"type": "object"}),
                                                                            **_ERRORS}),
        "post": _op("Admin: create an organisation", {"201": _json(_ref("Organization")), **_ERRORS},
                    requestBody=_body({"type": "object", "required": ["slug", "name"], "properties": {
                        "slug": {"type": "string"}, "name": {"type": "string"}, "jira_org_id": {"type": "string"}}}))},
    "/api/v1/admin/organizations/{org_id}": {"patch": _op(
        "Admin: rename an organisation or link a JSM organisation", {"200": _json(_ref("Organization")), **_ERRORS},
        parameters=[_int_path("org_id")], requestBody=_body({"type": "object", "properties": {
            "name": {"type": "string"}, "jira_org_id": {"type": ["string", "null"]}}}))},
    "/api/v1/admin/users": {
        "get": _op("Admin / org admin: users (`?organization=` slug or name)", {"200": _json({"type": "object"}),
                                                                                **_ERRORS}),
        "post": _op("Admin / org admin: invite a user; answers it with `invitation_url`",
                    {"201": _json(_ref("AdminUser")), **_ERRORS}, requestBody=_body(_USER_BODY))},
    "/api/v1/admin/users/{user_id}": {"patch": _op(
        "Admin / org admin: change a user; `active: false` ends their sessions and API tokens at once",
        {"200": _json(_ref("AdminUser")), **_ERRORS}, parameters=[_int_path("user_id")],
        requestBody=_body({**_USER_BODY, "properties": {**_USER_BODY["properties"], "active": {"type": "boolean"}}}))},
    "/api/v1/admin/groups": {
        "get": _op("Admin / org admin: groups with roles and members", {"200": _json({"type": "object"}), **_ERRORS}),
        "post": _op("Admin / org admin: create a group (members inherit its roles)",
                    {"201": _json({"type": "object"}), **_ERRORS}, requestBody=_body({
                        "type": "object", "required": ["name"], "properties": {
                            "name": {"type": "string"}, "organization": {"type": "string"},
                            "roles": {"type": "array", "items": {"type": "string"}}}}))},
    "/api/v1/admin/roles": {
        "get": _op("Admin / org admin: every role with its permissions", {"200": _json({"type": "object"}),
                                                                          **_ERRORS}),
        "post": _op("Admin: define a role", {"201": _json({"type": "object"}), **_ERRORS}, requestBody=_body({
            "type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}, "label": {"type": "string"}, "leading": {"type": "boolean"},
                "permissions": {"type": "array", "items": {"type": "string"}}}}))},
    "/api/v1/admin/audit": {"get": _op("Admin / org admin: who changed what, when (newest first)",
                                       {"200": _json({"type": "object"}), **_ERRORS})},
    "/api/v1/admin/users/{user_id}/tokens": {"get": _op(
        "Admin / org admin: the user's API tokens (name, created, last used, revoked; never the secret)",
        {"200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Token")}}}),
         **_ERRORS}, parameters=[_int_path("user_id")])},
    "/api/v1/admin/users/{user_id}/tokens/{token_id}/revoke": {"post": _op(
        "Admin / org admin: revoke one token at once (audited)", {"200": _json(_ref("Token")), **_ERRORS},
        parameters=[_int_path("user_id"), _int_path("token_id")])},
    "/api/v1/admin/users/{user_id}/reset-link": {"post": _op(
        "Admin / org admin: mail a single-use password reset link (1 hour); answers the link too (audited)",
        {"201": _json({"type": "object", "properties": {"reset_url": {"type": "string"},
                                                        "valid_hours": {"type": "integer"}}}), **_ERRORS},
        parameters=[_int_path("user_id")])},
    "/api/v1/admin/users/{user_id}/reset-2fa": {"post": _op(
        "Admin / org admin (not for an admin): remove the user's second factor and recovery codes, end their "
        "sessions; set up again at the next sign-in where the role requires it (audited)",
        {"200": _json({"type": "object", "properties": {"user": {"type": "string"},
                                                        "two_factor": {"type": "boolean"}}}), **_ERRORS},
        parameters=[_int_path("user_id")])},
    "/api/v1/admin/users/{user_id}/view-as/tickets": {"get": _op(
        "Admin: the tickets this user sees (`GET /api/v1/tickets` as them, same filters); audited",
        {"200": _json({"allOf": [_ref("TicketPage"), {"type": "object", "properties": {
            "viewed_as": {"type": "string"}}}]}), **_ERRORS},
        parameters=[_int_path("user_id"), *_LIST_PARAMS])},
    "/api/v1/admin/users/{user_id}/view-as/tickets/{key}": {"get": _op(
        "Admin: one ticket as this user reads it; 404 names it outside their scope; audited",
        {"200": _json(_ref("TicketDetail")), **_ERRORS}, parameters=[_int_path("user_id"), *_KEY])},
    "/api/v1/admin/share-links": {"get": _op("Admin: every organisation's read-only link, its maker and its reads",
                                             {"200": _json({"type": "object"}), **_ERRORS})},
    "/api/v1/openapi.json": {"get": _op("This document", {"200": _json({"type": "object"})})},
}


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    return {"openapi": "3.1.0",
            "info": {"title": "JSM Companion API", "version": "1",
                     "description": "Bearer tokens (`Authorization: Bearer <token>`) or the portal session. "
                                    "A ticket outside the caller's scope answers 404. Times are UTC ISO 8601."},
            "components": {"schemas": SCHEMAS,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}], "paths": PATHS}


@bp.get("/api/v1/openapi.json")
def openapi_json():  # type: ignore[no-untyped-def]
    """Serve the OpenAPI document (no authentication: it describes, it does not reveal)."""
    return jsonify(document())
