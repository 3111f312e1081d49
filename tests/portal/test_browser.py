"""The portal in headless Chromium: sign in, filter, open a request, live update, language, screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, NEEDS_CHROMIUM, Pages, live_app, sign_in
from tests.portal.a11y import assert_accessible, contrast, enable_axe
from tests.portal.conftest import NOW, PASSWORD, seed

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def live_server(settings: Any) -> Iterator[tuple[str, Any]]:
    """The portal (CSRF on, fast polling), seeded, on a free port."""
    with live_app(settings, PORTAL_POLL_MS=500) as (base, runtime):
        seed(runtime)
        yield base, runtime


@pytest.fixture
def page(pages: Pages) -> Any:
    """A fresh page in Moscow time (the portal must show times in the browser's zone)."""
    return pages.open(timezone_id="Europe/Moscow")


def _add_public_comment(runtime: Any, body: str) -> None:
    from sync.models import Comment, Ticket

    with runtime.sessions() as db, db.begin():
        ticket = db.query(Ticket).filter_by(key="SUP-1").one()
        db.add(Comment(ticket_id=ticket.id, jira_id="live-1", author_name="Bob Agent", public=True, body=body,
                       created_at=NOW + timedelta(minutes=1), updated_at=NOW + timedelta(minutes=1)))
        ticket.customer_status = "in_progress"
        ticket.jira_updated_at = NOW + timedelta(minutes=1)


def test_customer_journey(page: Any, live_server: tuple[str, Any]) -> None:
    base, runtime = live_server
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(base + "/")
    page.get_by_label("Email").fill("viewer@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    assert page.locator("tbody tr:not(.group-head)").count() == 3
    page.reload()  # the time-zone cookie portal.js set is used from the second page on
    assert "Europe/Moscow" in page.locator("footer").inner_text()
    page.screenshot(path=str(ARTIFACTS / "list.png"), full_page=True)

    assert "Waiting for the requester" in page.locator("tr[data-row='SUP-1']").text_content()
    assert page.locator(".needs-action").count() == 0  # nothing of the viewer's own waits for them
    search = page.get_by_role("search")
    assert not search.get_by_label("Status").is_visible()  # folded: the list comes first
    search.get_by_text("More filters").click()
    search.get_by_label("Status").select_option("resolved")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**status=resolved**")
    assert page.locator("td.col-key").all_inner_texts() == ["SUP-2"]
    assert "1 chosen" in page.get_by_role("search").locator("summary").inner_text()

    page.get_by_role("link", name="Reset").click()
    page.get_by_role("link", name="Printer is on fire").click()
    page.wait_for_url("**/tickets/SUP-1")
    # The viewer is Alice's colleague: the request waits for Alice, not for the reader.
    assert "Waiting for the requester" in page.locator("#ticket-status").text_content()
    assert "from you" not in page.locator("main").inner_text()
    assert page.locator("#ticket-comments script").count() == 0
    page.screenshot(path=str(ARTIFACTS / "request.png"), full_page=True)

    _add_public_comment(runtime, "We found the *cause* — live update.")
    page.locator("#ticket-comments").get_by_text("live update").wait_for()
    assert "In progress" in page.locator("#ticket-status").text_content()

    page.get_by_role("link", name="Русский").click()
    page.wait_for_url("**lang=ru")
    assert "Переписка" in page.locator("#ticket-comments").inner_text()
    page.get_by_role("link", name="Сводка").click()
    page.wait_for_url("**/summary")
    assert page.locator(".headline").inner_text().strip()
    assert page.locator("svg.history rect").count() == 270
    page.screenshot(path=str(ARTIFACTS / "summary.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Обращения").first.click()
    page.screenshot(path=str(ARTIFACTS / "list-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the phone layout scrolls sideways ({width}px)"


def test_live_list_marks_the_rows_it_changed(page: Any, live_server: tuple[str, Any]) -> None:
    base, runtime = live_server
    sign_in(page, base, "alice@acme.test", PASSWORD)
    assert "1 request waits for your reply" in page.locator(".needs-action").inner_text()
    assert "Waiting for your reply" in page.locator("tr[data-row='SUP-1']").text_content()
    page.wait_for_function("document.querySelector('script[src*=\"portal\"]') !== null")
    _add_public_comment(runtime, "Moving on.")
    row = page.locator("tr[data-row='SUP-1']")
    row.locator(".live-mark").wait_for()
    assert "Updated" in row.text_content() and "In progress" in row.text_content()
    assert page.locator("tr[data-row='SUP-2'] .live-mark").count() == 0  # unchanged rows stay unmarked
    page.screenshot(path=str(ARTIFACTS / "list-live-mark.png"), full_page=True)


def test_share_link_copy_button(page: Any, live_server: tuple[str, Any]) -> None:
    base, _ = live_server
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    sign_in(page, base, "viewer@acme.test", PASSWORD)
    page.get_by_role("link", name="Summary").first.click()
    page.get_by_label("Works for (days)").fill("7")
    page.get_by_role("button", name="Create a new link").click()
    link = page.locator("#share-link").input_value()
    page.get_by_role("button", name="Copy link").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == link
    page.goto(link)
    assert page.title().startswith("Support summary: Acme")


def test_keyboard_focus_is_visible(page: Any, live_server: tuple[str, Any]) -> None:
    base, _ = live_server
    page.goto(base + "/login")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    colour = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    ring = tuple(float(c) for c in re.findall(r"[\d.]+", colour)[:3])
    # WCAG 1.4.11: the ring against the white cards and the grey page behind them.
    for background in ((255, 255, 255), (244, 245, 247)):
        assert contrast(ring, background) >= 3, (colour, background, contrast(ring, background))


def _sign_in(page: Any, base: str, email: str) -> None:
    sign_in(page, base, email, PASSWORD, then="/**")


# Every page, as the person who reaches it (None: signed out). The request page and the create form are also
# checked at each step of the journeys (tests/outbound/test_journeys_browser.py), the public share page by
# test_a_colleague_reads_the_requester_neutral_wording.
PAGES = {None: ["/login", "/password/forgot"],
         "viewer@acme.test": ["/", "/tickets/SUP-1", "/summary", "/summary/report", "/account/settings",
                              "/account/tokens", "/account/password", "/account/notifications",
                              "/account/sessions", "/account/two-factor"],
         "admin@example.test": ["/admin/", "/admin/organizations", "/admin/users", "/admin/groups", "/admin/roles",
                                "/admin/audit", "/admin/sync", "/admin/outbox", "/admin/mail", "/admin/mapping",
                                "/summary"]}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_pages_are_accessible_and_fit_a_phone(page: Any, live_server: tuple[str, Any], lang: str) -> None:
    base, _ = live_server
    enable_axe(page.context)
    for email, paths in PAGES.items():
        if email:
            _sign_in(page, base, email)
        for path in paths:
            # axe judges markup, not width: the admin pages (desktop work, see README) once, the rest on both.
            for width in (1280,) if path.startswith("/admin") else (1280, 390):
                page.set_viewport_size({"width": width, "height": 844})
                page.goto(f"{base}{path}{'&' if '?' in path else '?'}lang={lang}")
                assert page.locator("main").count() == 1, path
                assert_accessible(page, f"{path} ({lang}, {width}px)")
                scroll = page.evaluate("document.documentElement.scrollWidth")
                wide = page.evaluate(f"""() => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > {width}).slice(-4)
                    .map(e => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right))""")
                assert scroll <= width, f"{path} ({lang}) scrolls sideways: {scroll}px in {width}px: {wide}"
            name = path.replace("/", "-").rstrip("-") or "-list"
            page.screenshot(path=str(ARTIFACTS / f"page{name}-{lang}-phone.png"), full_page=True)
        page.context.clear_cookies()


def test_escape_closes_menus_and_sort_headers_come_soon(page: Any, live_server: tuple[str, Any]) -> None:
    base, _ = live_server
    _sign_in(page, base, "viewer@acme.test")
    columns = page.locator("details.columns")
    columns.locator("summary").click()
    assert columns.get_attribute("open") is not None
    page.keyboard.press("Escape")
    assert columns.get_attribute("open") is None
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"  # focus goes back to the menu's button
    account = page.locator("details.account")
    account.locator("summary").click()
    assert account.get_attribute("open") is not None
    page.keyboard.press("Escape")
    assert account.get_attribute("open") is None
    # From the top of the page to the first sort header, Tab after Tab without the skip link: the header
    # (skip links, brand, main menu, languages, account), the page's buttons, search, the folded filters,
    # Apply, Columns. The filters folded behind one button keep it short.
    page.goto(base + "/")
    stops: list[str] = []
    while len(stops) < 60 and not page.evaluate("!!document.activeElement.closest('th')"):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.textContent.trim().slice(0, 30)"))
    before = len(stops) - 1  # the last stop is the first sort header itself
    assert before <= 17, f"{before} Tab stops before the sort headers (39 with every filter unfolded): {stops}"
    # With the skip link ("Skip to the list", the second stop) it takes three key presses.
    page.goto(base + "/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the list"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("!!document.activeElement.closest('th')")


SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def _in_language(page: Any, base: str, email: str, lang: str) -> None:
    """Sign in, then choose the language by its link in the header, as a person would."""
    _sign_in(page, base, email)
    page.get_by_role("link", name={"en": "English", "ru": "Русский"}[lang]).click()
    page.wait_for_url(f"**lang={lang}")


# Both languages and both sizes, in two runs (the wording does not depend on the size; the layout is checked).
@pytest.mark.parametrize(("lang", "size"), [("en", "desktop"), ("ru", "phone")])
def test_a_colleague_reads_the_requester_neutral_wording(page: Any, live_server: tuple[str, Any], lang: str,
                                                         size: str) -> None:
    """Vic (org viewer) reads Alice's request that waits for Alice: the list, the request page, the summary
    and the public share link all say it waits for the requester, never for "you"."""
    from babel.support import Translations

    base, runtime = live_server
    t = Translations.load(str(Path(__file__).resolve().parents[2] / "app" / "translations"), [lang]).gettext
    waiting = runtime.mapping.status("awaiting_customer")
    neutral, yours = waiting.label(lang, requester=False), waiting.label(lang)
    enable_axe(page.context)
    page.set_viewport_size(SIZES[size])
    _in_language(page, base, "viewer@acme.test", lang)
    shots = ARTIFACTS / "colleague"
    shots.mkdir(parents=True, exist_ok=True)

    def check(name: str) -> None:
        main = page.locator("main").text_content()  # as written, not as CSS upper-cases badges
        assert yours not in main and waiting.description(lang) not in main, name
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= SIZES[size]["width"], f"{name}: {scroll}px wide"
        assert_accessible(page, name)
        page.screenshot(path=str(shots / f"{name}-{lang}-{size}.png"), full_page=True)

    assert neutral in page.locator("tr[data-row='SUP-1']").text_content()
    assert page.locator(".needs-action").count() == 0
    check("list")
    page.locator("tr[data-row='SUP-1'] a.subject").click()
    page.wait_for_url("**/tickets/SUP-1")
    assert neutral in page.locator("#ticket-status").text_content()
    assert waiting.description(lang, requester=False) in page.locator("#ticket-status").text_content()
    check("request")
    page.get_by_role("navigation", name=t("Main")).get_by_role("link", name=t("Summary")).click()
    page.wait_for_url("**/summary")
    check("summary")
    page.get_by_role("button", name=t("Create a new link")).click()
    link = page.locator("#share-link").input_value()
    page.goto(link)
    check("shared")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_csv_export_by_clicking_opens_in_excel_terms(page: Any, live_server: tuple[str, Any], lang: str) -> None:
    """Russian Excel splits on ';' and needs the BOM to read UTF-8; English Excel splits on ','."""
    from babel.support import Translations

    base, _runtime = live_server
    t = Translations.load(str(Path(__file__).resolve().parents[2] / "app" / "translations"), [lang]).gettext
    _in_language(page, base, "viewer@acme.test", lang)
    page.locator("details.columns summary").click()  # the export follows the columns chosen on screen
    page.get_by_role("checkbox", name=t("Type"), exact=True).check()
    page.get_by_role("checkbox", name=t("Priority"), exact=True).uncheck()
    page.get_by_role("button", name=t("Show these columns")).click()
    page.wait_for_url("**cols_set=1**")
    with page.expect_download() as caught:
        page.get_by_role("link", name=t("Export CSV")).click()
    download = caught.value
    assert re.fullmatch(r"requests-org-acme-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), data[:10]
    header, *rows = data.decode("utf-8-sig").splitlines()
    separator = {"en": ",", "ru": ";"}[lang]
    assert header.split(separator) == [t("Key"), t("Subject"), t("Type"), t("Status"), t("Updated")], header
    assert len(rows) == 3 and all(len(r.split(separator)) == len(header.split(separator)) for r in rows), rows
    assert re.search(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}", rows[0]), rows[0]  # ISO dates, not "3 Dec"
