"""Comment bodies on the request page: the one Jira-markup renderer (`sync.notify.markup`), given the
request's people (mentions) and customer-visible attachments (images through the scoped route)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from sqlalchemy.orm import Session

from sync.models import Ticket
from sync.notify.markup import wiki_to_html
from sync.notify.reply_context import attachment_images, mention_names

__all__ = ["customer_description", "renderer_for", "wiki_to_html"]

# The outbox's create marker (sync.outbound.handlers.create): JSM keeps it in the description so a retried
# create can find its request; customers reading the portal never see it.
_CREATE_MARKER = re.compile(r"\s*_?\(customer portal ref jsmc[0-9a-f]+\)_?\s*$")


def customer_description(text: str | None) -> str:
    """A request's description as the customer wrote it, without the portal's create marker."""
    return _CREATE_MARKER.sub("", text or "")


def renderer_for(db: Session, ticket: Ticket, attachment_url: Callable[[str], str]) -> Callable[[str], str]:
    """A function rendering this request's comment bodies as sanitised HTML."""
    return partial(wiki_to_html, images=attachment_images(db, ticket, attachment_url),
                   names=mention_names(db, ticket))
