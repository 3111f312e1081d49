"""Pages are compressed; static files have fingerprinted URLs cached for a year."""

from __future__ import annotations

import gzip
import re

from tests.portal.conftest import sign_in


def without_csrf_tokens(page: bytes) -> bytes:
    """The page less its CSRF tokens, which carry the second they were signed and so differ between two loads."""
    return re.sub(rb'name="csrf_token" value="[^"]*"', b'name="csrf_token"', page)


def test_pages_are_compressed_for_browsers_that_ask(client, seeded):
    sign_in(client, "viewer@acme.test")
    plain = client.get("/")
    assert "Content-Encoding" not in plain.headers
    packed = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    body = gzip.decompress(packed.get_data())
    assert without_csrf_tokens(body) == without_csrf_tokens(plain.get_data())
    assert len(packed.get_data()) < len(body) / 2
    assert client.get("/", headers={"Accept-Encoding": "br"}).headers["Content-Encoding"] == "br"
    # Streamed exports stay streamed (and uncompressed).
    assert "Content-Encoding" not in client.get("/export.csv", headers={"Accept-Encoding": "gzip"}).headers


def test_static_urls_carry_the_content_hash_and_are_cached_long(client, seeded):
    page = client.get("/login").get_data(as_text=True)
    [script] = re.findall(r'src="(/static/portal\.js\?v=[0-9a-f]{12})"', page)
    [sheet] = re.findall(r'href="(/static/portal\.css\?v=[0-9a-f]{12})"', page)

    def cache_of(url: str) -> str:
        answer = client.get(url)
        assert answer.status_code == 200
        answer.close()  # a static answer holds its file open until closed
        return answer.headers["Cache-Control"]

    assert cache_of(script) == cache_of(sheet) == "public, max-age=31536000, immutable"
    assert cache_of("/static/portal.js") == "no-cache"
    assert cache_of("/static/portal.js?v=000000000000") == "no-cache"


def test_every_status_badge_has_its_own_colours_with_readable_text_in_both_themes():
    from pathlib import Path

    from tests.portal.a11y import contrast

    css = (Path(__file__).resolve().parents[2] / "app/static/portal.css").read_text()
    # The palette: each custom property is one colour, or light-dark(<light>, <dark>).
    palette = {name: (pair[0], pair[1] or pair[0]) for name, *pair in re.findall(
        r"--([a-z-]+):(?:light-dark\((#[0-9a-f]{3,6}),(#[0-9a-f]{3,6})\)|(#[0-9a-f]{3,6}))", css)
        for pair in [[p for p in pair if p] + [None]]}
    found = re.findall(r"\.status-([a-z_]+) \{ background:var\(--([a-z-]+)\); color:var\(--([a-z-]+)\)", css)

    def rgb(value: str) -> tuple[float, ...]:
        value = value.lstrip("#")
        value = "".join(c * 2 for c in value) if len(value) == 3 else value
        return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))

    for theme in (0, 1):  # light, dark
        badges = {key: (palette[background][theme], palette[text][theme]) for key, background, text in found}
        assert {"on_hold", "closed", "open", "resolved"} <= set(badges)
        assert badges["on_hold"] != badges["closed"]
        assert len(set(badges.values())) == len(badges), badges  # no two statuses share a look
        for key, (background, text) in badges.items():
            assert contrast(rgb(text), rgb(background)) >= 4.5, (key, theme)
