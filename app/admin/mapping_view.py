"""What the mapping editor shows, in the admin's language: the site's statuses first, the rest folded away,
project exceptions, and a proposal's effect told in sentences ("20 requests now shown as …")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from mappings import Mapping
from sync.projection.site_statuses import SiteStatus


@dataclass(frozen=True)
class Choice:
    """A customer status as the admin picks it: its label, its bucket in words and what customers read."""

    key: str
    label: str
    bucket: str
    description: str


def bucket_name(bucket: str) -> str:
    """A bucket (open, resolved, closed) in the admin's language."""
    return {"open": _("counted as open"), "resolved": _("counted as resolved"),
            "closed": _("counted as closed")}.get(bucket, bucket)


def status_choices(mapping: Mapping, locale: str) -> list[Choice]:
    """Every customer status of the mapping, as a select lists them."""
    return [Choice(s.key, s.label(locale), bucket_name(s.bucket), s.description(locale)) for s in mapping.statuses]


def _status_label(key: str, mappings: tuple[Mapping, ...], locale: str) -> str:
    for mapping in mappings:
        if any(s.key == key for s in mapping.statuses):
            return mapping.status(key).label(locale)
    return key


def _priority_label(key: str, mappings: tuple[Mapping, ...], locale: str) -> str:
    for mapping in mappings:
        if any(p.key == key for p in mapping.priorities):
            return mapping.priority(key).label(locale)
    return key


@dataclass(frozen=True)
class EditorRules:
    """The document's status rules split the way the editor shows them."""

    site: list[SiteStatus]
    others: list[tuple[int, dict[str, Any]]]
    overrides: list[tuple[int, dict[str, Any]]]


def split_rules(document: dict[str, Any], site: list[SiteStatus]) -> EditorRules:
    """Site statuses; the global rules no site status uses (folded); rules for one project or request type."""
    used = {s.rule_index for s in site if s.rule_index is not None}
    others, overrides = [], []
    for index, rule in enumerate(document["status_rules"]):
        if rule.get("project") or rule.get("request_type"):
            overrides.append((index, rule))
        elif index not in used:
            others.append((index, rule))
    return EditorRules(site, others, overrides)


def effect_sentences(preview: dict[str, Any], proposal: Mapping, active: Mapping,
                     locale: str) -> list[tuple[str, list[str]]]:
    """A preview (reproject.Projection.as_dict) in words with a few request keys each, most requests first."""
    both = (proposal, active)
    lines = [(ngettext("%(num)d request now shown as “%(to)s” instead of “%(was)s”",
                       "%(num)d requests now shown as “%(to)s” instead of “%(was)s”", move["count"],
                       to=_status_label(move["to"], both, locale), was=_status_label(move["from"], both, locale)),
              move["sample"]) for move in preview["moves"]]
    lines += [(ngettext("%(num)d request now has the priority “%(to)s” instead of “%(was)s”",
                        "%(num)d requests now have the priority “%(to)s” instead of “%(was)s”", move["count"],
                        to=_priority_label(move["to"], both, locale), was=_priority_label(move["from"], both, locale)),
               []) for move in preview["priority_changes"]]
    return lines


def policy_sentences(policies: dict[str, int]) -> list[str]:
    """What the proposal's automatic rules would do at once and within the week, in words (nothing when idle)."""
    lines = []
    if policies.get("closes_now") or policies.get("closes_this_week"):
        lines.append(_("Requests its automatic rules would close: %(now)s now, %(week)s more within the week.",
                       now=policies.get("closes_now", 0), week=policies.get("closes_this_week", 0)))
    if policies.get("reminds_now") or policies.get("reminds_this_week"):
        lines.append(_("Requests its reminders would go to: %(now)s now, %(week)s more within the week.",
                       now=policies.get("reminds_now", 0), week=policies.get("reminds_this_week", 0)))
    return lines
