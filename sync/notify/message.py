"""One e-mail as the standard library's `email` package builds it: text and HTML parts, stable ids, list headers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_TEMPLATES = Environment(loader=PackageLoader("sync.notify", "templates"), undefined=StrictUndefined,
                         autoescape=select_autoescape(["html"]), keep_trailing_newline=True)


@dataclass(frozen=True)
class InlineImage:
    """An image an HTML part shows by `cid:` (e.g. a chart), attached beside it."""

    content_id: str
    data: bytes
    subtype: str = "png"
    filename: str = "chart.png"


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
          thread: str | None = None, unsubscribe_url: str | None = None,
          images: Sequence[InlineImage] = ()) -> str:
    """The whole message as ASCII text with CRLF line ends, ready for SMTP or an .eml file.

    `images` travel beside the HTML part (multipart/related) and are shown where it says `cid:<content_id>`.
    """
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
    if images:
        html_part = message.get_body(preferencelist=("html",))
        assert html_part is not None  # added just above
        for image in images:
            html_part.add_related(image.data, "image", image.subtype, cid=f"<{image.content_id}>",
                                  disposition="inline", filename=image.filename)
    return message.as_string()
