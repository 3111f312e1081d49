"""Headless Chromium for the browser tests, and the app served to it over HTTP.

One Playwright and one Chromium serve a whole test module (a launch costs one to three seconds); each test
opens its pages in fresh browser contexts (no cookies or storage from another test), closed after it, and
serves its own app, with its own database, on a free port in a thread. Not one Chromium for the whole
session: while Playwright's sync API lives it leaves its asyncio loop marked running in the main thread,
where any other test's `asyncio.run` would then fail.

A test module uses `pytestmark = NEEDS_CHROMIUM` and the `pages` fixture (registered for every test by
tests/conftest.py); `serving(app)` serves a Flask app.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.served import served
from tests.portal.a11y import enable_axe

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots (git-ignored: every run makes them anew)

NEEDS_CHROMIUM = [pytest.mark.browser,
                  pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt install chromium)")]


def serving(app: Any) -> contextlib.AbstractContextManager[str]:
    """`app` on a free loopback port in a thread (CSRF and all, as a browser meets it); yields its base URL."""
    return served(app)


@contextlib.contextmanager
def live_app(settings: Any, **config: Any) -> Iterator[tuple[str, Any]]:
    """A fresh app of `settings` (CSRF on; `config` adds to Flask's), served; yields (base URL, its runtime)."""
    from app import create_app

    app = create_app(settings, {"TESTING": True, **config})
    runtime = app.extensions["companion"]
    try:
        with serving(app) as base:
            yield base, runtime
    finally:
        runtime.close()


def sign_in(page: Any, base: str, email: str, password: str, lang: str | None = None,
            gettext: Callable[[str], str] = str, then: str | None = "/") -> None:
    """Fill and send the sign-in form by its labels (`gettext` words them in `lang`), then wait for `base + then`."""
    page.goto(f"{base}/login" + (f"?lang={lang}" if lang else ""))
    page.get_by_label(gettext("Email")).fill(email)
    page.get_by_label(gettext("Password")).fill(password)
    page.get_by_role("button", name=gettext("Sign in")).click()
    if then is not None:
        page.wait_for_url(base + then)


class Pages:
    """Pages of one test, each in its own browser context; console errors are kept per page."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self.console_errors: list[str] = []

    def context(self, viewport: dict[str, int] | None = None, locale: str = "en-GB", axe: bool = False,
                **options: Any) -> Any:
        """A fresh context (Playwright's new_context options); `axe` loads axe-core into its pages."""
        context = self.browser.new_context(viewport=viewport or DESKTOP, locale=locale, **options)
        if axe:
            enable_axe(context)
        self.contexts.append(context)
        return context

    def open(self, viewport: dict[str, int] | None = None, locale: str = "en-GB", axe: bool = False,
             timeout_ms: int = 10_000, refusals_expected: bool = False, **options: Any) -> Any:
        """A page in a fresh context, with its console errors collected (unless the test makes the page's
        Content Security Policy refuse something on purpose: `refusals_expected`)."""
        return self.page_of(self.context(viewport, locale, axe, **options), timeout_ms, refusals_expected)

    def page_of(self, context: Any, timeout_ms: int = 10_000, refusals_expected: bool = False) -> Any:
        """Another page in `context` (a second tab of the same visitor)."""
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        if not refusals_expected:
            page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        return page

    def csp_violations(self) -> list[str]:
        """Console errors of the Content Security Policy on any page so far (the portal's CSP allows no inline code)."""
        return [e for e in self.console_errors if "Content Security Policy" in e]

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def pages(chromium: Any) -> Iterator[Pages]:
    """This test's pages (fresh contexts of the module's Chromium, closed afterwards); no page may break the CSP."""
    opened = Pages(chromium)
    yield opened
    opened.close()
    assert not opened.csp_violations(), opened.csp_violations()
