"""The 90-day chart of the monthly report as a PNG, for mail.

Why a PNG attached by Content-ID: Gmail and Outlook show neither inline SVG nor `data:` images in mail, while
every common client shows a `cid:` image of a multipart/related message. Drawn with Pillow from the same
numbers the summary's SVG chart draws (open at the end of each day on top; opened up and resolved down below),
so no browser or SVG renderer is needed on a worker.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw

WIDTH = 720
OPEN_HEIGHT = 110
FLOW_HEIGHT = 70
GAP = 20
PAD = 4
# The portal's chart colours (portal.css: .bar-open, .bar-opened, .bar-resolved, .axis).
OPEN_COLOUR = (0x4C, 0x9A, 0xFF)
OPENED_COLOUR = (0x00, 0x52, 0xCC)
RESOLVED_COLOUR = (0x36, 0xB3, 0x7E)
AXIS_COLOUR = (0xC1, 0xC7, 0xD0)


def history_png(history: list[dict[str, Any]]) -> bytes:
    """The chart of `history` (`[{"date", "opened", "resolved", "open"}]`) as PNG bytes."""
    height = OPEN_HEIGHT + GAP + FLOW_HEIGHT + 2 * PAD
    image = Image.new("RGB", (WIDTH, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    if history:
        step = (WIDTH - 2 * PAD) / len(history)
        bar = max(step - 1.5, 1.0)
        top = max(d["open"] for d in history) or 1
        flow = max(max(d["opened"], d["resolved"]) for d in history) or 1
        half = FLOW_HEIGHT / 2
        base_open = PAD + OPEN_HEIGHT
        base_flow = base_open + GAP + half
        for index, day in enumerate(history):
            x = PAD + index * step
            _bar(draw, x, base_open - OPEN_HEIGHT * day["open"] / top, bar, base_open, OPEN_COLOUR)
            _bar(draw, x, base_flow - half * day["opened"] / flow, bar, base_flow, OPENED_COLOUR)
            _bar(draw, x, base_flow, bar, base_flow + half * day["resolved"] / flow, RESOLVED_COLOUR)
        draw.line([(PAD, base_open), (WIDTH - PAD, base_open)], fill=AXIS_COLOUR)
        draw.line([(PAD, base_flow), (WIDTH - PAD, base_flow)], fill=AXIS_COLOUR)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _bar(draw: ImageDraw.ImageDraw, x: float, top: float, width: float, bottom: float,
         colour: tuple[int, int, int]) -> None:
    if bottom - top >= 0.5:
        draw.rectangle([(x, top), (x + width - 1, bottom)], fill=colour)
