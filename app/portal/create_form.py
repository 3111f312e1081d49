"""The create page's form model: fields in the reader's language, customer priorities, errors, kept files.

JSM's request-type form names its fields in the site's language and offers Jira's five priorities; the
customer sees the mapping's three priorities (with their meanings) instead, and the choice is raised with
the JSM priority the mapping maps to it (`Mapping.jira_priority_for`). Errors are worded here, per field,
from the codes `sync.outbound.catalog.validate_create` gives, never from its developer English.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage, MultiDict

from mappings import Mapping
from sync.policies.desk_kinds import DeskKind

MAX_SUMMARY = 255
# JSM names its system fields and common options in the site's language; these common English words
# are shown translated when the reader's catalogue has them (a site's own field names are shown as is).
COMMON_WORDS = {str(w): w for w in (_l("Priority"), _l("Environment"), _l("Production"), _l("Test"),
                                     _l("Development"), _l("Platform version"), _l("Subtype"), _l("Due date"),
                                     _l("Components"), _l("other"))}


def desk_note(kind: DeskKind | None) -> str:
    """What a desk is for, when the install configured no note for it (portal.desk_notes): 000's paid
    technical support with SLAs vs free help; nothing for a desk we know nothing about yet."""
    if kind is DeskKind.PAID:
        return _("Paid technical support: answers within the agreed response times (SLA).")
    if kind is DeskKind.FREE:
        return _("Free help with using the product, without guaranteed response times.")
    return ""


def word(text: str) -> str:
    """A JSM field name or option in the reader's language when it is a common word we translate."""
    found = COMMON_WORDS.get(text)
    return str(found) if found is not None else text


def priority_choices(mapping: Mapping, field: dict[str, Any] | None, locale: str) -> list[dict[str, str]]:
    """The customer priorities the request type's JSM priority field can take, each with its meaning."""
    if field is None:
        return []
    options = [(str(o["value"]), str(o["label"])) for o in field["options"]]
    return [{"key": p.key, "label": p.label(locale), "description": p.description(locale),
             "jira": value}
            for p in mapping.priorities if (value := mapping.jira_priority_for(p.key, options)) is not None]


def form_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The request type's extra fields (not priority) with names and options in the reader's language."""
    return [{**f, "name": word(f["name"]), "options": [{**o, "label": word(str(o["label"]))} for o in f["options"]]}
            for f in fields if f["field_id"] != "priority"]


def field_message(code: str | None, name: str) -> str:
    """A form error worded for the customer, from a validation code."""
    if code == "required":
        return _("Fill in “%(field)s”.", field=name)
    if code == "too_long":
        return _("“%(field)s” is too long: at most %(n)s characters.", field=name, n=MAX_SUMMARY)
    if code == "not_an_option":
        return _("Choose one of the offered values for “%(field)s”.", field=name)
    return _("Check “%(field)s”.", field=name)


def worded_errors(raw: dict[str, Any], names: dict[str, str]) -> dict[str, str]:
    """`validate_create` errors (keys `summary`, `priority`, `fields.<id>`) as customer messages by form key."""
    out: dict[str, str] = {}
    for key, message in raw.items():
        field_id = key.removeprefix("fields.")
        out[key if key in ("summary", "description", "priority") else f"fields.{field_id}"] = \
            field_message(getattr(message, "code", None), names.get(field_id, field_id))
    return out


def uploaded_files(files: MultiDict[str, FileStorage], kept: list[str]) -> list[dict[str, str]]:
    """Files chosen now plus those kept from an earlier attempt (hidden inputs), in the outbox's shape."""
    out = []
    for raw in kept:
        try:
            item = json.loads(base64.b64decode(raw, validate=True))
            base64.b64decode(item["b64"], validate=True)
            out.append({"name": str(item["name"])[:255], "mime": str(item.get("mime") or "application/octet-stream"),
                        "b64": str(item["b64"])})
        except (ValueError, KeyError, TypeError, binascii.Error):
            continue  # a tampered hidden input: that file is simply not kept
    for f in files.getlist("files"):
        if f and f.filename:
            out.append({"name": f.filename[:255], "mime": f.mimetype or "application/octet-stream",
                        "b64": base64.b64encode(f.read()).decode()})
    return out


def keep_token(item: dict[str, str]) -> str:
    """A file as a hidden-input value, so a form that comes back with an error still carries it."""
    return base64.b64encode(json.dumps(item).encode()).decode()
