"""In headless Chromium: the invitation mail (as a real SMTP server received it) → set a password → signed in →
the organisation's requests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from sync.jobs import drain_notifications
from tests.browser import ARTIFACTS, NEEDS_CHROMIUM, Pages, live_app
from tests.notify.conftest import smtp_url
from tests.portal.conftest import seed

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def portal(settings: Any, smtp: Any) -> Iterator[tuple[str, Any, Any]]:
    """The portal (CSRF on) on a free port, its mail going to the test's SMTP server."""
    inbox, controller = smtp
    settings = settings.model_copy(update={
        "mail": settings.mail.model_copy(update={"smtp_url": SecretStr(smtp_url(controller))})})
    with live_app(settings) as (base, runtime):
        yield base, runtime, inbox


def test_invitation_mail_to_the_organisations_requests(portal: tuple[str, Any, Any], pages: Pages) -> None:
    base, runtime, inbox = portal
    tokens = seed(runtime)
    answer = requests.post(base + "/api/v1/admin/users", headers={"Authorization": f"Bearer {tokens['admin']}"},
                           json={"email": "newbie@acme.test", "role": "org_viewer", "organization": "acme"},
                           timeout=10)
    assert answer.status_code == 201, answer.text
    drain_notifications(runtime)
    mails = inbox.to("newbie@acme.test")
    assert len(mails) == 1
    link = re.search(r"http://\S+(/invite/\S+)", mails[0].get_body(("plain",)).get_content())
    assert link, mails[0].get_body(("plain",)).get_content()
    assert mails[0].get_body(("html",)).get_content().count(link.group(1)) == 1  # the HTML part links it too

    page = pages.open()
    page.goto(base + link.group(1))
    assert "newbie@acme.test" in page.locator("main").inner_text()
    page.get_by_label("New password", exact=True).fill("a long new password")
    page.get_by_label("Repeat the new password").fill("a long new password")
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url(base + "/")
    rows = page.locator("tbody tr:not(.group-head)")
    assert rows.count() == 3  # every request of Acme, none of Globex
    listed = page.locator("main").inner_text()
    assert "Printer is on fire" in listed and "Globex secret project" not in listed
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "invited.png"), full_page=True)
    again = page.goto(base + link.group(1))
    assert again is not None and again.status == 404  # the link worked once
