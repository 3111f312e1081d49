"""The site's field ids are read once per session, both in one statement: an inbox batch asked twice per event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from sync.inbound.site_fields import organisations_fields, participants_fields, remember_organisations_fields


def test_each_field_list_is_read_once_per_session_and_a_remembered_one_is_seen(database_url: str) -> None:
    engine = create_engine(database_url)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "sync_state" in statement:
            statements.append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", seen)
    with Session(engine) as session, session.begin():
        for _ in range(50):  # none recorded yet: the absent row is not kept by the identity map
            assert organisations_fields(session) == frozenset()
            assert participants_fields(session) == frozenset()
        assert statements == ["SELECT"]  # both lists, in one statement
        remember_organisations_fields(session, frozenset({"customfield_10002"}))
        assert organisations_fields(session) == frozenset({"customfield_10002"})
        session.rollback()
    with Session(engine) as session:  # a new session reads again
        statements.clear()
        assert organisations_fields(session) == frozenset()
        assert statements == ["SELECT"]
    engine.dispose()
