"""Support replies as customers read them: Jira wiki markup to sanitised HTML, and to plain text.

One implementation for the portal's request page and for e-mails: `jira2markdown` (a parsing-expression
grammar of Jira's markup) turns the reply into Markdown, `markdown-it-py` renders that, and nh3 keeps
only the tags below. `!file.png!` images and `[^file.pdf]` links may only point at the request's own
customer-visible attachments (through the portal's scoped download route): on the page an image is
shown, in a mail it is a link (a mail reader has no portal session to load it with). Any other image
source is reduced to its name, so a reply cannot make a reader fetch an outside URL.
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
from jira2markdown.markup.images import Image
from jira2markdown.markup.links import Attachment
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


class _SpacedImage(Image):  # type: ignore[misc]
    """`!my file.png|thumbnail!` as `![my file.png](<my file.png>)`: the file name kept whole, spaces and all."""

    def action(self, tokens: Any) -> str:
        return f"![{tokens.url}](<{tokens.url}>)"


class _SpacedAttachment(Attachment):  # type: ignore[misc]
    """`[^my file.pdf]` as `![^my file.pdf](<my file.pdf>)`: rendered by `_image` as a link to the attachment
    (never an <img>: it may be any file), or as its name when it is not one of the request's."""

    def action(self, tokens: Any) -> str:
        return f"![^{tokens.filename}](<{tokens.filename}>)"


_ELEMENTS = MarkupElements()
_ELEMENTS.replace(Color, _MarkedColor)
_ELEMENTS.replace(Image, _SpacedImage)
_ELEMENTS.replace(Attachment, _SpacedAttachment)
# What the two classes above produce, for the text part: an attachment reference and its file name.
_REFERENCE = re.compile(r"!\[\^?([^\]\n]*)\]\(<([^>\n]*)>\)")


def _colours(rendered: str, *, keep: bool) -> str:
    def one(match: re.Match[str]) -> str:
        colour, text = match.group(1), match.group(2)
        return f'<font color="{colour}">{text}</font>' if keep and _COLOUR.match(colour) else text

    return _MARKERS.sub("", _MARKED_COLOUR.sub(one, rendered))


def _attachment_url(env: dict[str, Any], reference: str) -> str | None:
    found = env["images"].get(reference) or env["images"].get(unquote(reference))
    return str(found) if found is not None else None


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    """An attachment of this request as an image (or a link) through our route; any other source as its name."""
    token = tokens[idx]
    source = str(token.attrGet("src") or "")
    name = token.content.removeprefix("^") or unquote(source)
    url = _attachment_url(env, source)
    if url is None:
        return html.escape(name)
    if env["links"] or token.content.startswith("^"):
        return f'<a href="{html.escape(url)}">{html.escape(name)}</a>'
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


def wiki_to_html(text: str, *, images: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None,
                 images_as_links: bool = False) -> str:
    """Jira wiki markup (or plain text) as sanitised HTML.

    `images`: attachment file name → the URL customers may load it from; `names`: JSM account id →
    display name for `[~accountid:…]` mentions; `images_as_links`: attachments as links, not <img> (mail).
    """
    if not (text or "").strip():
        return ""
    return _cached_html(text, tuple(sorted((images or {}).items())), tuple(sorted((names or {}).items())),
                        images_as_links)


# Parsing Jira markup costs tens of milliseconds per reply (pyparsing tries every element at every
# character); the result depends on these inputs only, so a page shown again renders from here.
@lru_cache(maxsize=2048)
def _cached_html(text: str, images: tuple[tuple[str, str], ...], names: tuple[tuple[str, str], ...],
                 images_as_links: bool) -> str:
    allowed_images = dict(images)
    env = {"images": allowed_images, "links": images_as_links}
    rendered = _colours(_MARKDOWN.render(_markdown(text, dict(names)), env), keep=True)

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


def wiki_to_text(text: str, *, names: Mapping[str, str] | None = None,
                 images: Mapping[str, str] | None = None) -> str:
    """The same reply for a mail's text part: Markdown, which reads as plain text (colours dropped);
    an attachment as its name and URL (`images` as for `wiki_to_html`), any other image as its name."""
    urls = dict(images or {})

    def reference(match: re.Match[str]) -> str:
        name, url = match.group(1), urls.get(match.group(2))
        return name if url is None else f"{name} <{url}>"

    return _REFERENCE.sub(reference, _colours(_markdown(text, names or {}), keep=False)).strip()
