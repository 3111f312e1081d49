"""Account mails (invitation, password reset): one rendered mail in the notification outbox, sent exactly once.

The link inside works once, so the stored message is scrubbed once the server accepted it
(`scrub_after_send`); delivery, retries and the server's answer are the outbox's as for every mail.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from sync.models import MailState, OutgoingMail, User
from sync.notify import message
from sync.notify.wording import PRODUCT, words
from sync.settings import Settings

Purpose = Literal["invite", "reset"]
_WORDING = {"invite": ("invitation_subject", "invitation_body"), "reset": ("reset_subject", "reset_body")}


def queue_account_mail(session: Session, settings: Settings, user: User, purpose: Purpose, link: str) -> OutgoingMail:
    """Store the mail carrying `link` for `user` in the caller's transaction (the drain sends it)."""
    locale = user.locale or settings.portal.default_locale
    w = words(locale)
    subject_key, body_key = _WORDING[purpose]
    subject = w[subject_key].format(product=PRODUCT)
    text, html = message.render("account", body=w[body_key], link=link, link_label=w["set_password"],
                                locale=locale, product=PRODUCT)
    sender = settings.mail.sender
    message_id = message.new_message_id(sender)
    mail = OutgoingMail(user_id=user.id, to_address=user.email, kind=purpose, ticket_id=None, message_id=message_id,
                        subject=subject[:255], state=MailState.PENDING, attempts=0, scrub_after_send=True,
                        raw=message.build(sender=sender, to=user.email, to_name=user.name, subject=subject,
                                          text=text, html=html, message_id=message_id))
    session.add(mail)
    session.flush()
    return mail
