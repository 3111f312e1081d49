"""The 90-day history as server-side SVG bars (no script, so the strict CSP holds)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup, escape

WIDTH = 900
OPEN_HEIGHT = 110
FLOW_HEIGHT = 70
GAP = 24


def _bar(x: float, y: float, w: float, h: float, css: str, title: str) -> str:
    return (f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{max(h, 0):.1f}">'
            f"<title>{escape(title)}</title></rect>")


def history_svg(history: list[dict[str, Any]], format_day: Any) -> Markup:
    """Open-at-end-of-day bars on top, opened (up) and resolved (down) per day below."""
    if not history:
        return Markup("")
    step = WIDTH / len(history)
    width = max(step - 1.5, 1.0)
    top = max((d["open"] for d in history), default=0) or 1
    flow = max((max(d["opened"], d["resolved"]) for d in history), default=0) or 1
    half = FLOW_HEIGHT / 2
    base_flow = OPEN_HEIGHT + GAP + half
    # Each message translated once, then filled 90 times (what gettext(msg, **values) does per call).
    open_text = _("%(day)s: %(n)d open at end of day")
    opened_text = _("%(day)s: %(n)d opened")
    resolved_text = _("%(day)s: %(n)d resolved")
    parts = []
    for index, day in enumerate(history):
        x = index * step
        label = format_day(day["date"])
        height = OPEN_HEIGHT * day["open"] / top
        parts.append(_bar(x, OPEN_HEIGHT - height, width, height, "bar-open",
                          open_text % {"day": label, "n": day["open"]}))
        up = half * day["opened"] / flow
        parts.append(_bar(x, base_flow - up, width, up, "bar-opened",
                          opened_text % {"day": label, "n": day["opened"]}))
        down = half * day["resolved"] / flow
        parts.append(_bar(x, base_flow, width, down, "bar-resolved",
                          resolved_text % {"day": label, "n": day["resolved"]}))
    total = OPEN_HEIGHT + GAP + FLOW_HEIGHT
    label = _("Requests over the last %(days)d days: open at the end of each day, opened and resolved per day",
              days=len(history))
    axis = (f'<line class="axis" x1="0" y1="{OPEN_HEIGHT + .5}" x2="{WIDTH}" y2="{OPEN_HEIGHT + .5}"/>'
            f'<line class="axis" x1="0" y1="{base_flow}" x2="{WIDTH}" y2="{base_flow}"/>')
    ticks = (f'<text class="tick" x="2" y="12">{top}</text>'
             f'<text class="tick" x="2" y="{OPEN_HEIGHT + GAP + 10}">+{flow}</text>'
             f'<text class="tick" x="2" y="{total - 2}">−{flow}</text>')
    return Markup(f'<svg class="history" viewBox="0 0 {WIDTH} {total}" role="img" '
                  f'aria-label="{escape(label)}"><title>{escape(label)}</title>{axis}{"".join(parts)}{ticks}</svg>')
