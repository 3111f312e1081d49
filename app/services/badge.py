"""A shields-style status badge ("requests | 3 open · 1 waiting") as a standalone SVG document."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

HEIGHT = 20
PADDING = 10
# Verdana 11px averages about 7 px a character; a badge a few pixels too wide reads the same.
CHAR_WIDTH = 7.0
COLOURS = {"attention": "#fe7d37", "open": "#007ec6", "none": "#4c1"}


def _width(text: str) -> int:
    return int(len(text) * CHAR_WIDTH + 2 * PADDING)


def badge_svg(label: str, message: str, level: str) -> str:
    """Two-part badge: grey `label`, `message` on the colour of `level` (attention, open, none)."""
    left, right = _width(label), _width(message)
    total = left + right
    colour = COLOURS.get(level, COLOURS["open"])
    spoken = quoteattr(f"{label}: {message}")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{HEIGHT}" role="img" '
            f'aria-label={spoken}><title>{escape(label)}: {escape(message)}</title>'
            '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
            '<stop offset="1" stop-opacity=".1"/></linearGradient>'
            f'<clipPath id="r"><rect width="{total}" height="{HEIGHT}" rx="3" fill="#fff"/></clipPath>'
            f'<g clip-path="url(#r)"><rect width="{left}" height="{HEIGHT}" fill="#555"/>'
            f'<rect x="{left}" width="{right}" height="{HEIGHT}" fill="{colour}"/>'
            f'<rect width="{total}" height="{HEIGHT}" fill="url(#s)"/></g>'
            '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
            f'<text x="{left / 2}" y="15" fill="#010101" fill-opacity=".3">{escape(label)}</text>'
            f'<text x="{left / 2}" y="14">{escape(label)}</text>'
            f'<text x="{left + right / 2}" y="15" fill="#010101" fill-opacity=".3">{escape(message)}</text>'
            f'<text x="{left + right / 2}" y="14">{escape(message)}</text></g></svg>')
