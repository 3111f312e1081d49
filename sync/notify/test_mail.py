"""`companion mail test EMAIL`: one message sent at once through the configured transport, not the outbox.

It is a check of the mail set-up, so it bypasses the queue and tells the server's own answer (or where
the .eml file went) straight away.
"""

from __future__ import annotations

from sync.notify import message, transport
from sync.notify.wording import PRODUCT, words
from sync.settings import Settings


def send_test_mail(settings: Settings, to: str) -> str:
    """Send one test mail to `to`; returns what the server answered. Raises the transport's errors."""
    w = words(settings.portal.default_locale)
    subject = w["test_subject"].format(product=PRODUCT)
    text, html = message.render("account", body=w["test_body"], link=None, link_label="",
                                locale=settings.portal.default_locale, product=PRODUCT)
    message_id = message.new_message_id(settings.mail.sender)
    raw = message.build(sender=settings.mail.sender, to=to, to_name="", subject=subject, text=text, html=html,
                        message_id=message_id).encode("ascii")
    if settings.mail.smtp_url is None:
        return transport.write_eml(settings.data_dir / "mail", message_id, raw)
    target = transport.parse_smtp_url(settings.mail.smtp_url.get_secret_value())
    return f"{target.describe()}: " + transport.send_smtp(target, raw, settings.mail.sender, to, lambda: None)
