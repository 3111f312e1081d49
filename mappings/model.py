"""Immutable value objects handed to callers: customer statuses, priorities, categories, resolutions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappings.normalize import pick_locale

# Texts are stored as sorted (locale, text) tuples so every object stays hashable and frozen.
TextPairs = tuple[tuple[str, str], ...]


def pairs(texts: dict[str, str] | None) -> TextPairs:
    """Freeze a {locale: text} dict."""
    return tuple(sorted((texts or {}).items()))


@dataclass(frozen=True)
class CustomerStatus:
    """A customer-facing status: what the portal shows and which actions it offers."""

    key: str
    bucket: str
    colour: str
    actions: tuple[str, ...]
    labels: TextPairs
    descriptions: TextPairs
    others_labels: TextPairs = ()
    others_descriptions: TextPairs = ()
    replied_labels: TextPairs = ()
    replied_descriptions: TextPairs = ()

    def label(self, locale: str | None = "en", *, requester: bool = True) -> str:
        """Label in `locale`, falling back to English; `requester=False` picks the wording for everyone else."""
        texts = self.labels if requester or not self.others_labels else self.others_labels
        return pick_locale(dict(texts), locale)

    def description(self, locale: str | None = "en", *, requester: bool = True) -> str:
        """Description in `locale`, falling back to English; `requester=False` as for `label`."""
        texts = self.descriptions if requester or not self.others_descriptions else self.others_descriptions
        return pick_locale(dict(texts), locale)

    def replied(self, locale: str | None = "en") -> tuple[str, str] | None:
        """(label, description) while a customer's reply to this status is on its way, if the mapping has one."""
        if not self.replied_labels:
            return None
        return pick_locale(dict(self.replied_labels), locale), pick_locale(dict(self.replied_descriptions), locale)

    def allows(self, action: str) -> bool:
        """Whether a customer may perform `action` (comment, attach, resolve, cancel, reopen, rate)."""
        return action in self.actions


@dataclass(frozen=True)
class CustomerPriority:
    """A customer-facing priority; lower `rank` is more urgent."""

    key: str
    rank: int
    colour: str | None
    labels: TextPairs
    descriptions: TextPairs

    def label(self, locale: str | None = "en") -> str:
        """Label in `locale`, falling back to English."""
        return pick_locale(dict(self.labels), locale)

    def description(self, locale: str | None = "en") -> str:
        """Description in `locale`, falling back to English."""
        return pick_locale(dict(self.descriptions), locale)


@dataclass(frozen=True)
class StatusResolution:
    """Result of mapping a Jira status; `fell_back` means no rule matched (report it to admins)."""

    key: str
    bucket: str
    fell_back: bool
    # "id", "name", "category" or "default" (no usable category either).
    matched_by: str
    # Index into the document's status_rules, when a rule matched.
    rule_index: int | None = None
    notes: TextPairs = ()

    def note(self, locale: str | None = "en") -> str | None:
        """The rule's finer wording for this Jira status (e.g. "Передано в разработку"), if any."""
        return (pick_locale(dict(self.notes), locale) or None) if self.notes else None


@dataclass(frozen=True)
class PriorityResolution:
    """Result of mapping a Jira priority; `fell_back` means the fallback priority was used."""

    key: str
    rank: int
    fell_back: bool
    matched_by: str
    rule_index: int | None = None


@dataclass(frozen=True)
class CategorySubtype:
    """An optional refinement of a category (003: "metric billing request" | "other")."""

    key: str
    labels: TextPairs

    def label(self, locale: str | None = "en") -> str:
        """Label in `locale`, falling back to English."""
        return pick_locale(dict(self.labels), locale)


@dataclass(frozen=True)
class CustomerCategory:
    """A customer-facing category of requests, fed by one or more JSM request types."""

    key: str
    labels: TextPairs
    descriptions: TextPairs
    subtypes: tuple[CategorySubtype, ...]

    def label(self, locale: str | None = "en") -> str:
        """Label in `locale`, falling back to English."""
        return pick_locale(dict(self.labels), locale)

    def description(self, locale: str | None = "en") -> str:
        """Description in `locale`, falling back to English ("" when none)."""
        return pick_locale(dict(self.descriptions), locale)

    def subtype(self, key: str) -> CategorySubtype | None:
        """Subtype by key, or None."""
        return next((s for s in self.subtypes if s.key == key), None)


@dataclass(frozen=True)
class CategoryMatch:
    """What `Mapping.category_for` returns: the category and, when the request type pins one, a subtype."""

    category: CustomerCategory
    subtype: CategorySubtype | None = None

    @property
    def key(self) -> str:
        """The category key."""
        return self.category.key

    def label(self, locale: str | None = "en") -> str:
        """"Category" or "Category / Subtype" in `locale`."""
        text = self.category.label(locale)
        return f"{text} / {self.subtype.label(locale)}" if self.subtype else text

    def as_dict(self, locale: str | None = "en") -> dict[str, Any]:
        """JSON-friendly form for the API."""
        return {
            "key": self.category.key,
            "label": self.category.label(locale),
            "subtype": self.subtype.key if self.subtype else None,
            "subtype_label": self.subtype.label(locale) if self.subtype else None,
        }
