"""The automatic rules, the working calendar and the SLA wording of a mapping, as immutable values."""

from __future__ import annotations

from dataclasses import dataclass

from mappings.calendar import WorkingCalendar
from mappings.model import TextPairs, pairs
from mappings.normalize import norm_name, pick_locale
from mappings.schema import MappingDocument

# The comment sent with an automatic action, per action and locale ({hours}: the rule's working hours).
DEFAULT_COMMENTS: dict[str, dict[str, str]] = {
    "resolve": {
        "en": "Moved to awaiting closure automatically after {hours} working hours without an answer. "
              "Reply if the question is still open.",
        "ru": "Переведено в ожидание закрытия автоматически: {hours} рабочих часов без ответа. "
              "Ответьте, если вопрос ещё актуален.",
    },
    "close": {
        "en": "Closed automatically after {hours} working hours without an answer.",
        "ru": "Закрыто автоматически: {hours} рабочих часов без ответа.",
    },
    "cancel": {
        "en": "Canceled automatically after {hours} working hours without an answer.",
        "ru": "Отменено автоматически: {hours} рабочих часов без ответа.",
    },
    "remind": {
        "en": "Support is waiting for your answer: {hours} working hours have passed.",
        "ru": "Поддержка ждёт вашего ответа: прошло {hours} рабочих часов.",
    },
}


def _hours_text(hours: float) -> str:
    return str(int(hours)) if float(hours).is_integer() else f"{hours:g}"


@dataclass(frozen=True)
class PolicyRule:
    """One automatic rule of the mapping (DESIGN.md "Working calendar and automatic rules")."""

    name: str
    when: str
    after_working_hours: float
    do: str
    enabled: bool
    comments: TextPairs = ()

    def comment(self, locale: str | None = "en") -> str:
        """Why the rule acted, in the customer's language (English fallback)."""
        texts = dict(self.comments) or DEFAULT_COMMENTS.get(self.do, DEFAULT_COMMENTS["close"])
        return pick_locale(texts, locale).replace("{hours}", _hours_text(self.after_working_hours))


@dataclass(frozen=True)
class SlaGoal:
    """What customers read for one JSM SLA: its kind and, when the mapping gives them, labels."""

    kind: str
    labels: TextPairs = ()

    def label(self, locale: str | None = "en") -> str | None:
        """The mapping's label in `locale`, or None (then the portal words it by kind)."""
        return pick_locale(dict(self.labels), locale) if self.labels else None


def _guess_kind(name: str) -> str:
    # JSM's built-in goals are "Time to first response" and "Time to resolution"; anything else is "other".
    low = name.lower()
    if "first response" in low or "первого ответа" in low:
        return "first_response"
    if "resolution" in low or "решени" in low:
        return "resolution"
    return "other"


class PolicyBook:
    """The calendar, rules and SLA wording of one mapping document."""

    def __init__(self, doc: MappingDocument) -> None:
        cal = doc.calendar
        self.calendar = (WorkingCalendar() if cal is None
                         else WorkingCalendar.from_texts(cal.timezone, cal.days, cal.hours, cal.holidays))
        self.rules = tuple(PolicyRule(r.name, r.when, r.after_working_hours, r.do, r.enabled, pairs(r.comment))
                           for r in doc.policies)
        self.sla_projects = None if doc.sla.projects is None else frozenset(p.upper() for p in doc.sla.projects)
        self._goals = {norm_name(k): SlaGoal(g.kind, pairs(g.labels)) for k, g in doc.sla.goals.items()}

    @property
    def enabled_rules(self) -> tuple[PolicyRule, ...]:
        """The rules in force, in document order."""
        return tuple(r for r in self.rules if r.enabled)

    def sla_goal(self, jsm_name: str) -> SlaGoal:
        """How to show a JSM SLA named `jsm_name`: the mapping's entry, else a kind guessed from the name."""
        return self._goals.get(norm_name(jsm_name)) or SlaGoal(_guess_kind(jsm_name))

    def may_have_sla(self, project_key: str | None) -> bool:
        """False when the mapping lists the projects with SLAs and this is not one of them."""
        return self.sla_projects is None or (project_key or "").upper() in self.sla_projects
