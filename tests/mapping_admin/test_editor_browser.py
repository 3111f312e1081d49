"""The mapping editor in headless Chromium: unmapped banner, preview, publish, re-projection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sync.models import Ticket
from tests.helpers import drain, issue_payload, make_account, post_webhook

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PASSWORD = "admin password 123"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt install chromium)")]


@pytest.fixture
def live(settings: Any) -> Iterator[tuple[str, Any]]:
    """The app with CSRF on, two tickets (one in a status nobody mapped), served on a free port."""
    from werkzeug.serving import make_server

    from app import create_app

    app = create_app(settings, {"TESTING": True})
    runtime = app.extensions["companion"]
    client = app.test_client()
    post_webhook(client, issue_payload("SUP-1", jira_id="1"))
    post_webhook(client, issue_payload("SUP-2", jira_id="2", status="Awaiting Legal Review", status_id="777",
                                       category="indeterminate"))
    drain(runtime)
    make_account(runtime, "root@ops.test", role="admin", org=None, password=PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", runtime
    server.shutdown()
    runtime.close()


def test_admin_maps_a_new_status_with_preview_and_publish(live: tuple[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    from sync.jobs import reproject_all

    base, runtime = live
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(base + "/admin/mapping")
        page.get_by_label("Email").fill("root@ops.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(base + "/admin/mapping")
        banner = page.locator("#unmapped-banner")
        assert "Awaiting Legal Review" in banner.inner_text()
        page.get_by_label("Customer status for Awaiting Legal Review").select_option("on_hold")
        page.get_by_role("button", name="Preview the effect").click()
        page.locator("#mapping-result").get_by_text("in_progress → on_hold: 1 (SUP-2)").wait_for()
        page.screenshot(path=str(ARTIFACTS / "admin-mapping-preview.png"), full_page=True)
        page.get_by_label("What changed and why").fill("legal review pauses the request")
        page.get_by_role("button", name="Publish").click()
        page.wait_for_load_state("networkidle")
        page.locator("text=legal review pauses the request").wait_for()
        assert page.locator("#unmapped-banner").count() == 0
        browser.close()
    assert not errors, errors
    reproject_all(runtime, 1)  # the maintenance job the publish enqueued
    with runtime.sessions() as db:
        assert dict(db.execute(select(Ticket.key, Ticket.customer_status)).all()) == \
            {"SUP-1": "open", "SUP-2": "on_hold"}
