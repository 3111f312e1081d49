"""Daily digests: at `notifications.digest_hour` in each user's time zone, one mail in their language listing
the requests in their scope that are new, waiting for them, or resolved in the last day.

Who: active users whose e-mail choice is `daily`. A user who sees the whole organisation (org viewers
and org admins) gets the organisation digest: the same three lists over every request of the organisation
(the one scope rule, `sync.scope.visible_anywhere`, decides what a user sees, in mail as in the portal).
Once a day: the user's local date is stored in `last_digest_on` in the transaction that stores the mail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.models import EmailMode, MailState, NotificationPreference, OutgoingMail, Ticket, User
from sync.notify import links, message
from sync.notify.wording import PRODUCT, words
from sync.scope import reported_by, scopes_for, visible_anywhere
from sync.settings import Settings

WAITING_STATUS = "awaiting_customer"
PER_LIST = 50  # a digest is a summary: the portal has the rest


def local_now(user: User, now: datetime) -> datetime:
    """`now` in the user's zone (UTC when unset or unknown)."""
    try:
        return now.astimezone(ZoneInfo(user.timezone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(ZoneInfo("UTC"))


def due_users(session: Session, settings: Settings, now: datetime) -> list[int]:
    """Users whose digest hour has come today (in their zone) and who have not had today's digest."""
    rows = session.execute(select(User, NotificationPreference).join(
        NotificationPreference, NotificationPreference.user_id == User.id).where(
        NotificationPreference.email == EmailMode.DAILY, User.active.is_(True))).all()
    due = []
    for user, preference in rows:
        local = local_now(user, now)
        if local.hour >= settings.notifications.digest_hour and preference.last_digest_on != local.date().isoformat():
            due.append(user.id)
    return due


def _items(tickets: list[Ticket], mapping: Mapping, settings: Settings, locale: str) -> list[dict[str, Any]]:
    out = []
    for ticket in tickets[:PER_LIST]:
        try:
            label = mapping.status(ticket.customer_status).label(locale)
        except KeyError:
            label = ticket.customer_status
        out.append({"key": ticket.key, "summary": ticket.summary, "status_label": label,
                    "url": links.url(settings, f"/tickets/{ticket.key}")})
    return out


def compose_digest(session: Session, settings: Settings, mapping: Mapping, user_id: int,
                   now: datetime) -> OutgoingMail | None:
    """Store today's digest for `user_id` (None when nothing happened); marks the day done either way."""
    user = session.get(User, user_id)
    preference = session.get(NotificationPreference, user_id, with_for_update=True)
    if user is None or preference is None:
        return None
    local = local_now(user, now)
    if preference.last_digest_on == local.date().isoformat():
        return None  # another run sent it meanwhile
    preference.last_digest_on = local.date().isoformat()
    since = now - timedelta(days=1)
    visible = select(Ticket).where(visible_anywhere(user), Ticket.deleted.is_(False))
    new = list(session.scalars(visible.where(Ticket.created_at >= since).order_by(Ticket.created_at.desc())))
    organisation = "org" in scopes_for(user)
    # "Waiting for you": a customer's own requests only (one they take part in waits for its requester);
    # the organisation digest lists every request of the organisation that waits.
    waiting_query = visible.where(Ticket.customer_status == WAITING_STATUS)
    if not organisation:
        waiting_query = waiting_query.where(reported_by(user))
    waiting = list(session.scalars(waiting_query.order_by(Ticket.jira_updated_at.desc())))
    resolved = list(session.scalars(visible.where(Ticket.resolved_at >= since).order_by(Ticket.resolved_at.desc())))
    if not (new or waiting or resolved):
        return None
    locale = user.locale or settings.portal.default_locale
    w = words(locale)
    sections = [(w["digest_new"], _items(new, mapping, settings, locale)),
                (w["digest_waiting"], _items(waiting, mapping, settings, locale)),
                (w["digest_resolved"], _items(resolved, mapping, settings, locale))]
    subject = w["digest_org_subject" if organisation else "digest_subject"]
    unsubscribe = links.unsubscribe_url(settings, user.id)
    text, html = message.render("digest", sections=[s for s in sections if s[1]], w=w, locale=locale,
                                product=PRODUCT, title=subject, unsubscribe_url=unsubscribe,
                                preferences_url=links.url(settings, "/account/notifications"))
    sender = settings.mail.sender
    message_id = message.new_message_id(sender)
    mail = OutgoingMail(user_id=user.id, to_address=user.email, kind="org_digest" if organisation else "digest",
                        ticket_id=None, message_id=message_id, subject=subject[:255], state=MailState.PENDING,
                        attempts=0, scrub_after_send=False,
                        raw=message.build(sender=sender, to=user.email, to_name=user.name, subject=subject,
                                          text=text, html=html, message_id=message_id,
                                          unsubscribe_url=unsubscribe))
    session.add(mail)
    session.flush()
    return mail
