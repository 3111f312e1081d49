""""Name" reads right in Russian wherever it stands: a person's name, a thing's title, a role's identifier."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from sync.models import User
from tests.helpers import make_account


def _label(html: str, for_id: str) -> str:
    found = re.search(rf'<label[^>]*for="{for_id}"[^>]*>([^<]*)</label>', html)
    assert found, for_id
    return found.group(1).strip()


def test_each_name_label_reads_as_what_it_names(client: Any, runtime: Any) -> None:
    make_account(runtime, "root@example.test", "admin", None)
    make_account(runtime, "alice@acme.test")
    with runtime.sessions() as db, db.begin():
        alice = db.scalars(select(User).where(User.email == "alice@acme.test")).one()
        alice.name = "Alice Liddell"
        alice_id = alice.id
    assert client.post("/login", data={"email": "root@example.test",
                                       "password": "correct horse battery"}).status_code == 302

    person = client.get(f"/admin/users/{alice_id}/edit?lang=ru").get_data(as_text=True)
    assert 'Имя: <span id="person-name">Alice Liddell</span>' in person  # a person's name, not «Название»
    assert "<th scope=\"col\">Название</th>" in person  # the API tokens' names are titles
    assert _label(client.get("/admin/groups?lang=ru").get_data(as_text=True), "gname") == "Название"
    assert _label(client.get("/admin/roles?lang=ru").get_data(as_text=True), "rname") == "Идентификатор"
    assert _label(client.get("/admin/organizations?lang=ru").get_data(as_text=True), "name") == "Название"
    assert _label(client.get("/admin/users?lang=ru").get_data(as_text=True), "uname") == "Имя и фамилия"
    english = client.get(f"/admin/users/{alice_id}/edit?lang=en").get_data(as_text=True)
    assert 'Name: <span id="person-name">Alice Liddell</span>' in english
