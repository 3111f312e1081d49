"""Support replies as customers read them: Jira wiki markup to sanitised HTML, and to plain text.

One implementation for the portal's request page and for e-mails: `jira2markdown` (a parsing-expression
grammar of Jira's markup) turns the reply into Markdown, `markdown-it-py` renders that, and nh3 keeps
only the tags below. Images may only point at the request's own customer-visible attachments
(through the portal's scoped download route); any other image source is dropped, so a reply cannot
make a mail reader fetch an outside URL.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import nh3
from jira2markdown.elements import MarkupElements
from jira2markdown.markup.text_effects import Color
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pyparsing import Forward, ParserElement

# What `jira2markdown.convert` sets on import: its grammar treats every space as text.
ParserElement.set_default_whitespace_chars("")

_TAGS = {"p", "br", "strong", "em", "del", "ins", "sub", "sup", "code", "pre", "ul", "ol", "li", "a", "blockquote",
         "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr", "font"}
_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}, "font": {"color"}, "th": {"align"}, "td": {"align"},
               "code": {"class"}}
# Jira's {color:...} becomes <font color>: keep a colour name or hex value, nothing that could carry CSS.
_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")
# Jira shows typed HTML as text, so raw HTML stays text here too (html=False). Colours cross Markdown as
# private-use markers (removed from the input first) and become <font color> after rendering.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])
_OPEN, _MID, _CLOSE = "\ue000", "\ue001", "\ue002"
_MARKERS = re.compile(f"[{_OPEN}{_MID}{_CLOSE}]")
_MARKED_COLOUR = re.compile(f"{_OPEN}([^{_MID}]*){_MID}(.*?){_CLOSE}", re.DOTALL)


class _MarkedColor(Color):  # type: ignore[misc]  # the library has no type information
    """`{color:red}text{color}` as markers that survive Markdown rendering (see `_colours`)."""

    def action(self, tokens: Any) -> str:
        font = super().action(tokens)
        match = re.fullmatch(r'<font color="([^"]*)">(.*)</font>', font, re.DOTALL)
        return f"{_OPEN}{match.group(1)}{_MID}{match.group(2)}{_CLOSE}" if match else font


_ELEMENTS = MarkupElements()
_ELEMENTS.replace(Color, _MarkedColor)


def _colours(rendered: str, *, keep: bool) -> str:
    def one(match: re.Match[str]) -> str:
        colour, text = match.group(1), match.group(2)
        return f'<font color="{colour}">{text}</font>' if keep and _COLOUR.match(colour) else text

    return _MARKERS.sub("", _MARKED_COLOUR.sub(one, rendered))


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    """An attachment of this request as an image through our route; any other source as its name only."""
    token = tokens[idx]
    source = str(token.attrGet("src") or "")
    name = token.content or source
    url = env["images"].get(source) or env["images"].get(unquote(source))
    if url is None:
        return html.escape(name)
    return f'<img src="{html.escape(url)}" alt="{html.escape(name)}">'


_MARKDOWN.add_render_rule("image", _image)


class _Grammar(threading.local):
    """jira2markdown's parser, built once per thread: `convert` builds it on every call, which cost some
    0.5 s per comment on a request page (bench/portal_bench.py). Its mention element reads the names
    dict while parsing, so each conversion refills `names` instead of building a new parser."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        inline, self.markup = Forward(), Forward()
        inline <<= _ELEMENTS.expr(inline, self.markup, self.names, filter(lambda e: e.is_inline_element, _ELEMENTS))
        self.markup <<= _ELEMENTS.expr(inline, self.markup, self.names, _ELEMENTS)


_GRAMMAR = _Grammar()


def _markdown(text: str, names: Mapping[str, str]) -> str:
    grammar = _GRAMMAR
    grammar.names.clear()
    grammar.names.update(names)
    return str(grammar.markup.transform_string(_MARKERS.sub("", text or "")))


def wiki_to_html(text: str, *, images: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None) -> str:
    """Jira wiki markup (or plain text) as sanitised HTML.

    `images`: attachment file name → the URL customers may load it from; `names`: JSM account id →
    display name for `[~accountid:…]` mentions.
    """
    if not (text or "").strip():
        return ""
    return _cached_html(text, tuple(sorted((images or {}).items())), tuple(sorted((names or {}).items())))


# Parsing Jira markup costs tens of milliseconds per reply (pyparsing tries every element at every
# character); the result depends on these three inputs only, so a page shown again renders from here.
@lru_cache(maxsize=2048)
def _cached_html(text: str, images: tuple[tuple[str, str], ...], names: tuple[tuple[str, str], ...]) -> str:
    allowed_images = dict(images)
    rendered = _colours(_MARKDOWN.render(_markdown(text, dict(names)), {"images": allowed_images}), keep=True)

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            return value if value in allowed_images.values() else None
        if tag == "font" and attribute == "color":
            return value if _COLOUR.match(value) else None
        if tag == "code" and attribute == "class":
            return value if value.startswith("language-") else None
        return value

    # <img> only where this request has attachments to show, and then only with their URLs (keep above).
    tags = _TAGS | {"img"} if allowed_images else _TAGS
    return nh3.clean(rendered, tags=tags, attributes=_ATTRIBUTES, attribute_filter=keep,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def wiki_to_text(text: str, *, names: Mapping[str, str] | None = None) -> str:
    """The same reply for a mail's text part: Markdown, which reads as plain text (colours dropped)."""
    return _colours(_markdown(text, names or {}), keep=False).strip()
