"""Share links that travel (feed, badge, JSON, card) and the monthly report: fixtures on the portal's seed."""

from __future__ import annotations

from typing import Any

from tests.notify.conftest import smtp  # noqa: F401 (fixture)
from tests.portal.conftest import seeded, sign_in  # noqa: F401 (fixtures)


def make_link(client: Any, email: str = "viewer@acme.test", **form: str) -> str:
    """Sign in as `email`, create the organisation's link with `form`, sign out; the link's path (/s/<token>)."""
    sign_in(client, email)
    page = client.post("/summary/share", data=form).get_data(as_text=True)
    link = page.split('id="share-link" class="mono" readonly value="')[1].split('"')[0]
    client.post("/logout")
    return "/s/" + link.rsplit("/s/", 1)[1]
