"""The mapping editor in headless Chromium, by clicking only, in English and Russian, on a desktop and a phone:
the site's statuses first with counts and customer wording, the preview in words, a confirmed publish with its
progress, a per-project exception, and the way back to the default. A thread plays the maintenance worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.support import Translations
from sqlalchemy import select

from sync.models import Ticket
from tests.browser import ARTIFACTS, NEEDS_CHROMIUM, PHONE, Pages, serving, sign_in
from tests.helpers import InBackground, drain, issue_payload, make_account, post_webhook
from tests.portal.a11y import assert_accessible

SHOTS = ARTIFACTS / "mapping-editor"
TRANSLATIONS = Path(__file__).resolve().parents[2] / "app" / "translations"
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": PHONE}
PASSWORD = "admin password 123"

pytestmark = NEEDS_CHROMIUM


def run_reprojections(runtime: Any) -> None:
    """The re-projection jobs a publish enqueued, as the `maintenance` worker runs them."""
    from sync.jobs import queue, reproject_all

    for job in queue("maintenance", runtime.redis).jobs:
        if job.func_name.endswith("reproject_all"):
            reproject_all(runtime, *job.args)
        job.delete()


@pytest.fixture
def live(settings: Any) -> Iterator[tuple[str, Any]]:
    """CSRF on; three requests Escalated, one in a status nobody mapped, two projects; served on a free port."""
    from app import create_app

    app = create_app(settings, {"TESTING": True})
    runtime = app.extensions["companion"]
    client = app.test_client()
    for n in range(1, 4):
        post_webhook(client, issue_payload(f"SUP-{n}", jira_id=str(n), status="Escalated", status_id="5",
                                           category="indeterminate"))
    post_webhook(client, issue_payload("SUP-4", jira_id="4", status="Awaiting Legal Review", status_id="777",
                                       category="indeterminate"))
    post_webhook(client, issue_payload("OPS-1", jira_id="11", status="Escalated", status_id="5",
                                       category="indeterminate"))
    drain(runtime)
    make_account(runtime, "root@ops.test", role="admin", org=None, password=PASSWORD)
    with serving(app) as base:
        yield base, runtime


def _statuses(runtime: Any) -> dict[str, str]:
    with runtime.sessions() as db:
        return dict(db.execute(select(Ticket.key, Ticket.customer_status)).all())


@pytest.mark.parametrize(("lang", "size"), [("en", "desktop"), ("ru", "phone")])
def test_admin_edits_publishes_adds_an_exception_and_goes_back_to_the_default(
        live: tuple[str, Any], pages: Pages, lang: str, size: str) -> None:
    t = Translations.load(str(TRANSLATIONS), [lang])
    base, runtime = live
    shots = SHOTS / f"{lang}-{size}"
    shots.mkdir(parents=True, exist_ok=True)
    label = {s.key: s.label(lang) for s in runtime.mapping.statuses}
    with InBackground(lambda: run_reprojections(runtime), 0.2):
        page = pages.open(viewport=SIZES[size], axe=True, timeout_ms=15_000)
        checked: list[str] = []

        def step(name: str, axe: bool = False) -> None:
            page.screenshot(path=str(shots / f"{len(checked):02d}-{name}.png"), full_page=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= SIZES[size]["width"], f"{name}: the page scrolls sideways ({width}px)"
            if axe:  # a few seconds each on this long page: the states that add markup (dialog, new rows)
                assert_accessible(page, name)
            checked.append(name)

        sign_in(page, base, "root@ops.test", PASSWORD, lang, t.gettext, then="/**")
        page.get_by_role("link", name={"en": "English", "ru": "Русский"}[lang]).click()
        page.wait_for_url(f"**lang={lang}")
        page.get_by_role("navigation", name=t.gettext("Main")).get_by_role(
            "link", name=t.gettext("Administration")).click()
        page.get_by_role("navigation", name=t.gettext("Administration")).get_by_role(
            "link", name=t.gettext("Status mapping")).click()
        page.wait_for_url("**/admin/mapping")

        # The site's statuses come first, most used first, with counts; the default's other names are folded.
        site = page.locator("#site-statuses tbody tr")
        assert site.nth(0).locator("th").inner_text().startswith("Escalated")
        assert site.nth(0).locator("td.num").inner_text() == "4"
        assert t.gettext("not mapped yet") in page.locator("tr[data-jira-name='Awaiting Legal Review']").inner_text()
        assert not page.locator("#other-statuses table").is_visible()
        escalated = page.get_by_label(t.gettext("Customers see for %(s)s") % {"s": "Escalated"}, exact=True)
        assert escalated.locator("option:checked").inner_text() == \
            f"{label['awaiting_fix']} · {t.gettext('counted as open')}"
        assert runtime.mapping.status("awaiting_fix").description(lang) in site.nth(0).inner_text()
        step("editor", axe=True)

        # Change Escalated to In progress: its explanation follows; the preview says it in words.
        escalated.select_option("in_progress")
        assert runtime.mapping.status("in_progress").description(lang) in site.nth(0).inner_text()
        page.get_by_role("button", name=t.gettext("Preview the effect")).click()
        moved = t.ngettext("%(num)d request now shown as “%(to)s” instead of “%(was)s”",
                           "%(num)d requests now shown as “%(to)s” instead of “%(was)s”", 4) % {
            "num": 4, "to": label["in_progress"], "was": label["awaiting_fix"]}
        page.locator("#mapping-result").get_by_text(moved).wait_for()
        step("preview", axe=True)

        # Publish: a confirmation with the same words, then the progress, then the outcome on the page.
        page.get_by_label(t.gettext("What changed and why (kept with the version)")).fill("escalations are work")
        page.get_by_role("button", name=t.gettext("Publish…")).click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text(moved).wait_for()
        step("confirm-publish", axe=True)
        dialog.get_by_role("button", name=t.gettext("Publish"), exact=True).click()
        page.wait_for_url("**published=1")
        note = t.ngettext("Version %(v)s is published: %(num)d request is now shown differently.",
                          "Version %(v)s is published: %(num)d requests are now shown differently.", 4) % {
            "v": 1, "num": 4}
        assert page.locator("#published-note").inner_text() == note
        assert _statuses(runtime)["SUP-1"] == "in_progress"
        step("published")

        # An exception for one project: in OPS, Escalated is still "Waiting for a fix".
        page.get_by_label(t.gettext("Project"), exact=True).select_option("OPS")
        page.locator("#new-jira-status").select_option("Escalated")
        page.locator("#new-customer-status").select_option("awaiting_fix")
        page.get_by_role("button", name=t.gettext("Add the exception")).click()
        assert page.locator("#overrides tr.new-override").count() == 1
        page.get_by_role("button", name=t.gettext("Publish…")).click()
        one_moved = t.ngettext("%(num)d request now shown as “%(to)s” instead of “%(was)s”",
                               "%(num)d requests now shown as “%(to)s” instead of “%(was)s”", 1) % {
            "num": 1, "to": label["awaiting_fix"], "was": label["in_progress"]}
        dialog.get_by_text(one_moved).wait_for()
        assert "OPS-1" in dialog.inner_text()
        dialog.get_by_role("button", name=t.gettext("Publish"), exact=True).click()
        page.wait_for_url("**published=2")
        assert _statuses(runtime)["OPS-1"] == "awaiting_fix" and _statuses(runtime)["SUP-2"] == "in_progress"
        assert "OPS" in page.locator("#overrides tr.override").first.inner_text()
        step("exception", axe=True)

        # Back to the default: confirmed, with what it undoes.
        page.get_by_role("button", name=t.gettext("Go back to the default mapping…")).click()
        back = t.ngettext("%(num)d request now shown as “%(to)s” instead of “%(was)s”",
                          "%(num)d requests now shown as “%(to)s” instead of “%(was)s”", 3) % {
            "num": 3, "to": label["awaiting_fix"], "was": label["in_progress"]}
        dialog.get_by_text(back).wait_for()
        step("confirm-default")
        dialog.get_by_role("button", name=t.gettext("Publish"), exact=True).click()
        page.wait_for_url("**published=3")
        assert set(_statuses(runtime).values()) == {"awaiting_fix", "in_progress"}
        assert _statuses(runtime)["SUP-4"] == "in_progress"  # the unmapped one, by its category
        assert page.locator("#overrides tr.override").count() == 0
        step("default-restored")
    assert not pages.console_errors, pages.console_errors
    assert len(checked) == 7
