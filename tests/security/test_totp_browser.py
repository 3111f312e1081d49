"""Two-factor sign-in in headless Chromium: an admin is sent to set it up, the QR code renders under the
page's CSP, a real code from pyotp turns it on, the next sign-in asks for a code; both pages pass axe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import update

from sync.models import User
from tests.conftest import make_settings
from tests.helpers import make_account
from tests.portal.a11y import assert_accessible, enable_axe

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt install chromium)")]


@pytest.fixture
def strict_server(tmp_path, database_url, redis_url, redis_client) -> Iterator[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    """The portal with CSRF on and the default policy (managers need a second factor), in a thread."""
    from werkzeug.serving import make_server

    from app import create_app

    settings = make_settings(tmp_path, database_url, redis_url, security={"require_totp_for_managers": True})
    app = create_app(settings, {"TESTING": True})
    runtime = app.extensions["companion"]
    make_account(runtime, "root@example.test", "admin", None)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", runtime
    server.shutdown()
    runtime.close()


def _password(page: Any, base: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill("root@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_sets_up_two_factor_and_signs_in_with_a_code(strict_server: tuple[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    base, runtime = strict_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(locale="en-GB")
        enable_axe(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        _password(page, base)
        page.wait_for_url(base + "/account/two-factor")
        page.goto(base + "/admin/")  # nothing else is open yet
        page.wait_for_url(base + "/account/two-factor")
        qr = page.get_by_alt_text("QR code for your authenticator app")
        assert qr.evaluate("img => img.complete && img.naturalWidth > 100")  # the data: SVG renders under the CSP
        assert_accessible(page, "/account/two-factor (set-up)")
        secret = page.get_by_label("Or type this key into the app:").input_value()
        page.get_by_label("Enter the 6-digit code the app shows").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Turn on").click()
        page.wait_for_url(base + "/account/two-factor/enable")
        assert page.locator(".recovery-codes li").count() == 10
        assert_accessible(page, "/account/two-factor (recovery codes)")
        page.locator("details.account summary").click()
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(base + "/login")

        with runtime.sessions() as db, db.begin():  # as if the enrolment code were from an earlier minute
            db.execute(update(User).values(totp_last_step=None))
        _password(page, base)
        page.wait_for_url(base + "/login/second-factor")
        assert_accessible(page, "/login/second-factor")
        page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base + "/")
        page.goto(base + "/account/sessions")
        assert page.get_by_text("This session").count() == 1
        assert_accessible(page, "/account/sessions")
        browser.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
