"""The monthly report mail: who gets it, when, and the one mail per organisation, month and recipient.

Who: active org admins and org viewers of an organisation who opted in (`NotificationPreference.monthly_report`).
When: from `REPORT_HOUR` on the 1st in the recipient's time zone, about the month that just ended; a scheduler
that was down catches up until the `CATCH_UP_DAYS`th, later the moment has passed (nobody wants last month's
report on the 20th). Exactly once: the Message-ID is made of organisation, month and recipient, and Message-IDs
are unique in the outbox, so a second run (or a second scheduler) finds the mail there, or its insert skips the row
the first one stored (`INSERT … ON CONFLICT DO NOTHING`, on SQLite as on PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.db import insert_skipping_duplicates
from sync.models import MailState, NotificationPreference, Organization, OutgoingMail, Role, User
from sync.notify import links, message
from sync.notify.digest import local_now
from sync.notify.wording import PRODUCT
from sync.reports.chart import history_png
from sync.reports.figures import Month, month_figures
from sync.reports.wording import hours, month_name, words
from sync.settings import Settings

REPORT_HOUR = 6
CATCH_UP_DAYS = 3
READERS = (Role.ORG_ADMIN, Role.ORG_VIEWER)
CHART_CID = "chart"
_TEMPLATES = Environment(loader=PackageLoader("sync.reports", "templates"), undefined=StrictUndefined,
                         autoescape=select_autoescape(["html"]), keep_trailing_newline=True)


def may_receive(user: User) -> bool:
    """Whether `user` may opt in: an org admin or org viewer of an organisation."""
    return user.role in READERS and user.organization_id is not None


def report_message_id(org_id: int, month: Month, user_id: int, settings: Settings) -> str:
    """The one Message-ID of this organisation's report for this month to this recipient."""
    return f"<report.{org_id}.{month}.{user_id}@{message.mail_domain(settings.mail.sender)}>"


def due_month(user: User, now: datetime) -> Month | None:
    """The month whose report is due for `user` at `now` (their zone), or None outside the sending days."""
    local = local_now(user, now)
    if local.day > CATCH_UP_DAYS or (local.day == 1 and local.hour < REPORT_HOUR):
        return None
    return Month.of(local.date()).previous()


def due_recipients(session: Session, settings: Settings, now: datetime) -> list[tuple[int, Month]]:
    """(user id, month) of every report due now and not yet in the outbox."""
    rows = session.scalars(select(User).join(NotificationPreference, NotificationPreference.user_id == User.id)
                           .where(NotificationPreference.monthly_report.is_(True), User.active.is_(True),
                                  User.role.in_(READERS), User.organization_id.is_not(None)))
    due = []
    for user in rows:
        month = due_month(user, now)
        if month is None or user.organization_id is None:
            continue
        message_id = report_message_id(user.organization_id, month, user.id, settings)
        if session.scalar(select(OutgoingMail.id).where(OutgoingMail.message_id == message_id)) is None:
            due.append((user.id, month))
    return due


def render_report(figures: dict[str, Any], org_name: str, locale: str, settings: Settings,
                  chart_src: str, unsubscribe_url: str) -> tuple[str, str, str]:
    """(subject, text, html) of a report; `chart_src` is where the HTML finds the chart (`cid:` in mail)."""
    w = words(locale)
    month = Month.parse(figures["month"])
    title_month = month_name(month.year, month.month, locale)
    subject = w["subject"].format(org=org_name, month=title_month)
    values = {"w": w, "f": figures, "locale": locale, "product": PRODUCT, "chart_src": chart_src,
              "title": w["title"].format(org=org_name, month=title_month),
              "first_response": hours(figures["median_first_response_hours"], locale),
              "resolution": hours(figures["median_resolution_hours"], locale),
              "report_url": links.url(settings, f"/summary/report?month={month}"),
              "preferences_url": links.url(settings, "/account/notifications"),
              "unsubscribe_url": unsubscribe_url,
              "ticket_url": lambda key: links.url(settings, f"/tickets/{key}")}
    return (subject, _TEMPLATES.get_template("report.txt").render(**values),
            _TEMPLATES.get_template("report.html").render(**values))


def compose_report(session: Session, settings: Settings, mapping: Mapping, user_id: int, month: Month,
                   now: datetime) -> OutgoingMail | None:
    """Store the report for `user_id` and `month` in the outbox; None when it is already there."""
    user = session.get(User, user_id)
    if user is None or user.organization_id is None:
        return None
    org = session.get(Organization, user.organization_id)
    if org is None:
        return None
    message_id = report_message_id(org.id, month, user.id, settings)
    if session.scalar(select(OutgoingMail.id).where(OutgoingMail.message_id == message_id)) is not None:
        return None
    zone = local_now(user, now).tzinfo
    assert zone is not None  # astimezone always gives one
    figures = month_figures(session, mapping, org.id, month, zone, now)
    locale = user.locale or settings.portal.default_locale
    unsubscribe = links.unsubscribe_url(settings, user.id)
    subject, text, html = render_report(figures, org.name, locale, settings, f"cid:{CHART_CID}", unsubscribe)
    row = {"user_id": user.id, "to_address": user.email, "kind": "monthly_report", "ticket_id": None,
           "message_id": message_id, "subject": subject[:255], "state": MailState.PENDING, "attempts": 0,
           "scrub_after_send": False,
           "raw": message.build(sender=settings.mail.sender, to=user.email, to_name=user.name, subject=subject,
                                text=text, html=html, message_id=message_id, unsubscribe_url=unsubscribe,
                                images=[message.InlineImage(CHART_CID, history_png(figures["history"]))])}
    # A concurrent run that stored it first wins (this one waits for its commit, then adds nothing).
    dialect = session.get_bind().dialect.name
    upsert = insert_skipping_duplicates(dialect, OutgoingMail, ["message_id"])
    if upsert is None:  # neither SQLite nor PostgreSQL: a duplicate fails on the unique index instead
        upsert = insert(OutgoingMail)
    new_id = session.scalar(upsert.values(**row).returning(OutgoingMail.id))
    return session.get(OutgoingMail, new_id) if new_id is not None else None
