"""Comment bodies: Jira wiki markup / plain text to safe HTML (sanitised with nh3)."""

from __future__ import annotations

import html
import re

import nh3

_ALLOWED_TAGS = {"p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "a", "blockquote"}
_LINK = re.compile(r"\[([^|\]]+)\|(https?://[^\]\s]+)\]")
_BOLD = re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*\S)?)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(\S(?:[^_\n]*\S)?)_(?![\w_])")
_MONO = re.compile(r"\{\{(.+?)\}\}")
# The outbox's create marker (sync.outbound.handlers.create): JSM keeps it in the description so a retried
# create can find its request; customers reading the portal never see it.
_CREATE_MARKER = re.compile(r"\s*_?\(customer portal ref jsmc[0-9a-f]+\)_?\s*$")


def customer_description(text: str | None) -> str:
    """A request's description as the customer wrote it, without the portal's create marker."""
    return _CREATE_MARKER.sub("", text or "")


def wiki_to_html(text: str) -> str:
    """A small subset of Jira wiki markup (bold, italic, monospace, links, lists) as sanitised HTML."""
    escaped = html.escape(text or "", quote=True)
    escaped = _LINK.sub(r'<a href="\2">\1</a>', escaped)
    escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
    escaped = _ITALIC.sub(r"<em>\1</em>", escaped)
    escaped = _MONO.sub(r"<code>\1</code>", escaped)
    blocks = []
    for block in re.split(r"\n{2,}", escaped.strip()):
        lines = block.split("\n")
        if all(line.lstrip().startswith(("* ", "- ")) for line in lines):
            items = "".join(f"<li>{line.lstrip()[2:]}</li>" for line in lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append("<p>" + "<br>".join(lines) + "</p>")
    return nh3.clean("".join(blocks), tags=_ALLOWED_TAGS, attributes={"a": {"href"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
