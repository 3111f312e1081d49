"""Every template obeys the CSP (`script-src 'self'`): no inline event handlers, no inline script bodies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "app" / "templates").rglob("*.html"))
# An attribute named on<something>= inside a tag (onclick, onchange, onsubmit, ...).
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.IGNORECASE | re.DOTALL)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)


def test_templates_are_found() -> None:
    assert len(TEMPLATES) > 10


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_no_inline_code(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    handler = INLINE_HANDLER.search(text)
    assert handler is None, f"{path.name}: inline event handler {handler.group(0)[-40:]!r} (the CSP blocks it)"
    for attrs, body in SCRIPT.findall(text):
        assert "src=" in attrs and not body.strip(), f"{path.name}: inline <script> body (the CSP blocks it)"
    assert JS_URL.search(text) is None, f"{path.name}: a javascript: URL"


@pytest.mark.parametrize("snippet", ['<select onchange="this.form.submit()">', "<a href='x' onClick = 'y'>",
                                     "<form\n  onsubmit=\"go()\">"])
def test_the_check_catches_handlers(snippet: str) -> None:
    assert INLINE_HANDLER.search(snippet)
