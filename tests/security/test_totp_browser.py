"""Two-factor sign-in in headless Chromium: an admin is sent to set it up, the QR code renders under the
page's CSP, a real code from pyotp turns it on, the next sign-in asks for a code; both pages pass axe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from sqlalchemy import update

from sync.models import User
from tests.browser import NEEDS_CHROMIUM, Pages, live_app, sign_in
from tests.conftest import make_settings
from tests.helpers import make_account
from tests.portal.a11y import assert_accessible

PASSWORD = "correct horse battery"

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def strict_server(tmp_path, database_url, redis_url, redis_client) -> Iterator[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    """The portal with CSRF on and the default policy (managers need a second factor), on a free port."""
    settings = make_settings(tmp_path, database_url, redis_url, security={"require_totp_for_managers": True})
    with live_app(settings) as (base, runtime):
        make_account(runtime, "root@example.test", "admin", None)
        yield base, runtime


def test_an_admin_sets_up_two_factor_and_signs_in_with_a_code(strict_server: tuple[str, Any], pages: Pages) -> None:
    base, runtime = strict_server
    page = pages.open(axe=True)
    sign_in(page, base, "root@example.test", PASSWORD, then=None)  # the password step
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
    sign_in(page, base, "root@example.test", PASSWORD, then=None)  # the password step
    page.wait_for_url(base + "/login/second-factor")
    assert_accessible(page, "/login/second-factor")
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    page.goto(base + "/account/sessions")
    assert page.get_by_text("This session").count() == 1
    assert_accessible(page, "/account/sessions")
