"""One e-mail as the standard library's `email` package builds it: text and HTML parts, stable ids, list headers."""

from __future__ import annotations

import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_TEMPLATES = Environment(loader=PackageLoader("sync.notify", "templates"), undefined=StrictUndefined,
                         autoescape=select_autoescape(["html"]), keep_trailing_newline=True)


def mail_domain(sender: str) -> str:
    """The domain our Message-IDs are made in: the sender's."""
    return (parseaddr(sender)[1].rpartition("@")[2] or "localhost").lower()


def new_message_id(sender: str) -> str:
    """A Message-ID generated once per mail and kept for every attempt to send it."""
    return f"<{uuid.uuid4().hex}@{mail_domain(sender)}>"


def thread_id(key: str, sender: str) -> str:
    """The id every mail about one request refers to, so mail readers thread them."""
    return f"<request.{key}@{mail_domain(sender)}>"


def render(template: str, **values: Any) -> tuple[str, str]:
    """The text and HTML bodies of `template` (`<template>.txt` and `.html`)."""
    return (_TEMPLATES.get_template(f"{template}.txt").render(**values),
            _TEMPLATES.get_template(f"{template}.html").render(**values))


def build(*, sender: str, to: str, to_name: str, subject: str, text: str, html: str, message_id: str,
          thread: str | None = None, unsubscribe_url: str | None = None) -> str:
    """The whole message as ASCII text with CRLF line ends, ready for SMTP or an .eml file."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = Address(display_name=to_name, addr_spec=to) if to_name else to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    # RFC 3834: an automatic message; well-behaved auto-responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    if thread:
        message["In-Reply-To"] = thread
        message["References"] = thread
    if unsubscribe_url:
        # RFC 8058 one-click: the mail reader POSTs "List-Unsubscribe=One-Click" to the URL, no session needed.
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message.as_string()
