"""One user's due notifications folded into one rendered e-mail, in the user's language.

Runs in the caller's transaction: the notifications are marked `mailed` with the new mail's id in
the same commit that stores the mail, so a notification is in exactly one mail.
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.models import (
    Comment,
    MailState,
    Notification,
    NotificationEvent,
    NotificationKind,
    NotificationState,
    OutgoingMail,
    Ticket,
    User,
)
from sync.notify import links, message
from sync.notify.markup import wiki_to_html, wiki_to_text
from sync.notify.reply_context import attachment_images, mention_names
from sync.notify.wording import PRODUCT, words
from sync.scope import raised
from sync.settings import Settings

# The request page's rating form (app/templates/actions/panel.html): the rating ask links straight to it.
RATING_FORM_ID = "rate-form"


def _label(mapping: Mapping, key: str, locale: str) -> tuple[str, str]:
    try:
        status = mapping.status(key)
    except KeyError:
        return key, ""
    return status.label(locale), status.description(locale)


def _change(session: Session, event: NotificationEvent, mapping: Mapping, locale: str,
            names: dict[str, str], attachments: dict[str, str]) -> dict[str, Any] | None:
    details = event.details
    if event.kind == NotificationKind.STATUS:
        return {"kind": "status", "from_label": _label(mapping, str(details.get("from")), locale)[0],
                "to_label": _label(mapping, str(details.get("to")), locale)[0]}
    if event.kind == NotificationKind.COMMENT:
        comment = session.scalars(select(Comment).where(Comment.jira_id == details.get("comment_jira_id"))).first()
        if comment is None or not comment.public or comment.deleted:
            return None  # hidden or deleted since: nothing to tell
        return {"kind": "comment", "author": comment.author_name or words(locale)["support"],
                "html": wiki_to_html(comment.body, names=names, images=attachments, images_as_links=True),
                "text": wiki_to_text(comment.body, names=names, images=attachments)}
    text = details.get("message") or {}
    return {"kind": "reminder", "message": text.get(locale) or text.get("en") if isinstance(text, dict) else None}


def compose(session: Session, settings: Settings, mapping: Mapping, user_id: int) -> OutgoingMail | None:
    """Fold `user_id`'s pending notifications into one mail (None when nothing is left to tell)."""
    rows = list(session.scalars(select(Notification).where(
        Notification.user_id == user_id, Notification.state == NotificationState.PENDING)
        .order_by(Notification.id).with_for_update(skip_locked=True)))
    user = session.get(User, user_id)
    if not rows or user is None:
        return None
    if not user.active:
        for row in rows:
            row.state, row.reason = NotificationState.SKIPPED, "deactivated before the e-mail was sent"
        return None
    locale = user.locale or settings.portal.default_locale
    w = words(locale)
    by_ticket: dict[int, list[Notification]] = defaultdict(list)
    for row in rows:
        by_ticket[row.ticket_id].append(row)
    items: list[dict[str, Any]] = []
    for ticket_id, notifications in by_ticket.items():
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or ticket.deleted:
            continue
        names = mention_names(session, ticket)
        url = links.url(settings, f"/tickets/{ticket.key}")
        # Absolute links to the scoped download route: the reader signs in and sees only what the portal shows.
        attachments = attachment_images(session, ticket, partial("{}/attachments/{}".format, url))
        changes = []
        for row in notifications:
            event = session.get(NotificationEvent, row.event_id)
            change = _change(session, event, mapping, locale, names, attachments) if event else None
            if change is not None:
                changes.append(change)
        if not changes:
            continue
        label, description = _label(mapping, ticket.customer_status, locale)
        # The 1–5 rating is the requester's to give: only they are asked, when the request became resolved.
        rate = ticket.bucket == "resolved" and raised(user, ticket) and any(c["kind"] == "status" for c in changes)
        items.append({"key": ticket.key, "summary": ticket.summary, "url": url,
                      "rate_url": f"{url}#{RATING_FORM_ID}" if rate else None,
                      "status_label": label, "status_description": description, "changes": changes})
    mail = None
    if items:
        sender = settings.mail.sender
        unsubscribe = links.unsubscribe_url(settings, user.id)
        text, html = message.render("update", items=items, w=w, locale=locale, product=PRODUCT,
                                    preferences_url=links.url(settings, "/account/notifications"),
                                    unsubscribe_url=unsubscribe)
        single = items[0] if len(items) == 1 else None
        subject = (w["subject_one"].format(key=single["key"], summary=single["summary"]) if single
                   else w["subject_many"].format(count=len(items)))
        message_id = message.new_message_id(sender)
        thread_ticket = next(iter(by_ticket)) if single else None
        mail = OutgoingMail(user_id=user.id, to_address=user.email, kind="update", ticket_id=thread_ticket,
                            message_id=message_id, subject=subject[:255], state=MailState.PENDING, attempts=0,
                            scrub_after_send=False,
                            raw=message.build(sender=sender, to=user.email, to_name=user.name, subject=subject,
                                              text=text, html=html, message_id=message_id,
                                              thread=message.thread_id(str(single["key"]), sender) if single else None,
                                              unsubscribe_url=unsubscribe))
        session.add(mail)
        session.flush()
    for row in rows:
        if mail is None:
            row.state, row.reason = NotificationState.SKIPPED, "nothing left to tell"
        else:
            row.state, row.mail_id = NotificationState.MAILED, mail.id
    return mail
