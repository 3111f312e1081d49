"""The status summary of a scope's tickets: headline, counts, recent changes, medians, 90-day history.

`build_summary` is the whole of it (/summary, GET /api/v1/summary, the share page): the figures
`sync.reports.scope_summary` counts, worded for the reader by `present_summary` (which also words kept
figures, `app.services.summary_cache`). `build_overview` is the headline and counts alone, one grouped
statement, for what a share link serves often (badge, JSON, card).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from gettext import NullTranslations
from typing import Any, Protocol

from sqlalchemy import Select
from sqlalchemy.orm import Session

from app.services.scope import ScopeError, scopes_for
from app.services.serializers import iso
from mappings import Mapping
from sync.models import Ticket, User
from sync.reports.scope_summary import scope_counts, summary_figures

# Headline items that make the summary ask for attention.
ATTENTION = ("awaiting_customer", "awaiting_requester", "high_priority")


class Translations(Protocol):
    """The reader's message catalogue (Flask-Babel's `get_translations()`, or gettext's NullTranslations)."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


def summary_scope(user: User, wanted: str | None) -> str:
    """The scope a summary covers: the one asked for, else the widest below 'group'."""
    scopes = scopes_for(user)
    scope = wanted or ("org" if "org" in scopes else "mine")
    if scope not in scopes:
        raise ScopeError(f"scope {scope!r} is not available to role {user.role!r}")
    return scope


def _label(getter: Any, key: str, locale: str, requester: bool = False) -> str:
    try:
        return getter(key).label(locale, requester=requester)
    except KeyError:
        return key


def headline(status_counts: dict[str, int], open_high: int, open_total: int,
             translations: Translations | None = None,
             own_waiting: int | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Status-page style roll-up, worst first: what waits for the customer, then urgent, then the rest.

    `own_waiting` is how many of the waiting requests the reader raised: only those "wait for your reply";
    the others (and all of them for an anonymous reader, `None`) "wait for the requester".
    """
    catalogue = translations or NullTranslations()

    def ngettext(singular: str, plural: str, num: int) -> str:
        return catalogue.ngettext(singular, plural, num) % {"num": num}

    items: list[dict[str, Any]] = []
    waiting = status_counts.get("awaiting_customer", 0)
    own = min(own_waiting or 0, waiting)
    if own:
        items.append({"kind": "awaiting_customer", "count": own,
                      "text": ngettext("%(num)d request waits for your reply",
                                       "%(num)d requests wait for your reply", own)})
    if waiting - own:
        items.append({"kind": "awaiting_requester", "count": waiting - own,
                      "text": ngettext("%(num)d request waits for the requester",
                                       "%(num)d requests wait for the requester", waiting - own)})
    if open_high:
        items.append({"kind": "high_priority", "count": open_high,
                      "text": ngettext("%(num)d high-priority request open",
                                       "%(num)d high-priority requests open", open_high)})
    if open_total:
        items.append({"kind": "open", "count": open_total,
                      "text": ngettext("%(num)d open request in total", "%(num)d open requests in total",
                                       open_total)})
    else:
        items.append({"kind": "none_open", "count": 0, "text": catalogue.gettext("No open requests")})
    return " · ".join(item["text"] for item in items), items


def _overview(counts: dict[str, Any], own_waiting: int | None, mapping: Mapping, locale: str,
              translations: Translations | None) -> dict[str, Any]:
    """The headline, its level, the counts and their labels, from `scope_counts`."""
    text, items = headline(counts["open_by_status"], counts["open_high"], counts["bucket"].get("open", 0),
                           translations, own_waiting)
    return {
        "headline": text, "headline_items": items,
        "level": "attention" if any(i["kind"] in ATTENTION for i in items) else "ok",
        "counts": {"status": counts["status"], "priority": counts["priority"], "bucket": counts["bucket"]},
        "labels": {"status": {s.key: s.label(locale, requester=False) for s in mapping.statuses},
                   "priority": {p.key: p.label(locale) for p in mapping.priorities}},
        "last_synced": counts["last_synced"],
    }


def build_overview(db: Session, scope_query: Select[tuple[Ticket]], mapping: Mapping, locale: str, *,
                   now: datetime | None = None, translations: Translations | None = None) -> dict[str, Any]:
    """The summary's headline, level, counts, labels and last sync for an anonymous reader (a share link's
    badge, JSON and card, fetched every minute): one grouped statement."""
    now = now or datetime.now(UTC)
    scope = scope_query.order_by(None)
    return {**_overview(scope_counts(db, scope, None), None, mapping, locale, translations), "generated": iso(now)}


def present_summary(figures: dict[str, Any], mapping: Mapping, locale: str, *, with_subjects: bool = True,
                    translations: Translations | None = None) -> dict[str, Any]:
    """The summary /summary and GET /api/v1/summary show, worded in `locale` from `summary_figures`' figures
    (freshly counted, or kept: wording them costs next to nothing)."""
    recent = [{"key": item["key"], "summary": item["summary"] if with_subjects else None, "status": item["status"],
               "status_label": _label(mapping.status, item["status"], locale, item["own"]), "at": item["at"]}
              for item in figures["recent"]]
    return {
        **_overview(figures["counts"], figures["own_waiting"], mapping, locale, translations),
        "recent": recent,
        "medians": figures["medians"],
        "history": figures["history"],
        "sla": figures["sla"],
        "generated": figures["generated"],
    }


def build_summary(db: Session, scope_query: Select[tuple[Ticket]], mapping: Mapping, locale: str,
                  zone: tzinfo, *, now: datetime | None = None, with_subjects: bool = True,
                  translations: Translations | None = None, reader: User | None = None) -> dict[str, Any]:
    """Everything /summary and GET /api/v1/summary show, for the tickets of `scope_query` (the scope helper).

    `reader` is who reads it (None for a share link): it decides "your reply" against "the requester".
    """
    figures = summary_figures(db, scope_query, mapping.policies.calendar, zone, now=now, reader=reader)
    return present_summary(figures, mapping, locale, with_subjects=with_subjects, translations=translations)
