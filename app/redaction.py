"""Secrets that travel in URLs never reach a log line: `?token=`, share links and one-time links.

Data Center webhooks that cannot sign carry the webhook secret as `?token=`; a share link's path
is its credential (`/s/<token>`), as are invitation, password-reset and unsubscribe links. One
filter on every handler redacts them from whatever logger wrote the line (gunicorn, Werkzeug, ours).
"""

from __future__ import annotations

import logging
import re

from sync.logs import PLAIN

REDACTED = "[redacted]"
# Each pattern with the literal text every match of it contains: a line holding none of them is not
# scanned (most lines; a case-insensitive scan is the dearest step of writing a log line).
_PATTERNS = (
    # token=, password=, secret= … in a query string (also URL-encoded `%3Ftoken%3D`-free forms).
    (("=",), re.compile(r"(?i)([?&;](?:token|access_token|api_token|password|secret|signature)=)[^&\s\"';]*"),
     rf"\1{REDACTED}"),
    # Paths whose last segment is a bearer credential.
    (("/s/", "/invite/", "/password/reset/", "/unsubscribe/"),
     re.compile(r"(/(?:s|invite|password/reset|unsubscribe)/)[^/?\s\"';]+"), rf"\1{REDACTED}"),
    # user:password@ in URLs (database, Redis, SMTP).
    (("://",), re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@"), rf"\1{REDACTED}@"),
)


def redact(text: str) -> str:
    """`text` with every URL-borne secret replaced by [redacted]."""
    for needles, pattern, replacement in _PATTERNS:
        if any(needle in text for needle in needles):
            text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (arguments merged in) with secrets redacted; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, PLAIN, False):  # made of constants and numbers (sync.logs.PLAIN): nothing to redact
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of `logger` (the root logger by default); idempotent."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
