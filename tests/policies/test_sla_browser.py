"""The request page in headless Chromium: SLA lines of a paid-desk request and "No SLA" on a free-desk one,
in English and Russian, with support hours; screenshots in tests/artifacts/."""

from __future__ import annotations

from sync.jobs import refresh_slas
from tests.browser import ARTIFACTS, NEEDS_CHROMIUM, Pages, sign_in

pytestmark = NEEDS_CHROMIUM


def test_sla_block_in_both_languages(env, pages: Pages) -> None:  # type: ignore[no-untyped-def]
    paid = env.raise_request(summary="Payments are down", request_type="11")
    free = env.raise_request(summary="Where is my invoice?", request_type="22")
    env.sandbox_post(f"/_sandbox/requests/{paid}/comment", {"body": "We are looking into it."})
    env.sync_in()
    refresh_slas(env.runtime, [paid, free])
    base = env.base_url  # the install's own server, which the stand-in's webhooks reach too
    ARTIFACTS.mkdir(exist_ok=True)
    page = pages.open(viewport={"width": 1280, "height": 1000}, timezone_id="Asia/Yekaterinburg")
    sign_in(page, base, "customer1@example.com", "correct horse battery")
    for lang, first, none, hours in (("en", "answered in", "No SLA", "Support hours"),
                                     ("ru", "ответ дан за", "Без SLA", "Часы работы поддержки")):
        page.goto(f"{base}/tickets/{paid}?lang={lang}")
        block = page.locator("#ticket-sla")
        assert first in block.inner_text()
        assert hours in block.inner_text() and "10:00" in block.inner_text()
        assert "Time to first response" not in block.inner_text()  # JSM's goal names stay internal
        block.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"sla-paid-{lang}.png"), full_page=True)
        page.goto(f"{base}/tickets/{free}?lang={lang}")
        assert none in page.locator("#ticket-sla").inner_text()
        page.screenshot(path=str(ARTIFACTS / f"sla-free-{lang}.png"), full_page=True)
