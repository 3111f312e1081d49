"""CSV as spreadsheet users need it, case-insensitive search (Cyrillic too), multi-choice and people filters.

Each test runs on SQLite and on PostgreSQL: the search's case folding differs per database underneath.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from sync.models import Ticket
from tests.portal.conftest import NOW, sign_in


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


def _keys(html: str) -> list[str]:
    return re.findall(r'<tr data-row="([^"]+)"', html)


def _russian_subjects(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        db.query(Ticket).filter_by(key="SUP-1").update({"summary": "Выгрузку отчёта не открыть"})
        db.query(Ticket).filter_by(key="SUP-2").update({"summary": "ОШИБКА ВХОДА"})


def test_search_ignores_case_in_every_alphabet(client, seeded, runtime):
    _russian_subjects(runtime)
    sign_in(client, "viewer@acme.test")
    for query in ("Выгрузку", "выгрузку", "ВЫГРУЗКУ", "ОтЧёТ"):
        assert _keys(client.get("/", query_string={"q": query}).get_data(as_text=True)) == ["SUP-1"], query
    assert _keys(client.get("/", query_string={"q": "ошибка"}).get_data(as_text=True)) == ["SUP-2"]
    assert _keys(client.get("/", query_string={"q": "sup-3"}).get_data(as_text=True)) == ["SUP-3"]
    assert _keys(client.get("/", query_string={"q": "%"}).get_data(as_text=True)) == []  # wildcards are literal
    answer = client.get("/api/v1/tickets", query_string={"q": "выгрузку", "scope": "org"},
                        headers={"Authorization": f"Bearer {seeded['viewer']}"})
    assert [t["key"] for t in answer.get_json()["items"]] == ["SUP-1"]


def test_status_filter_takes_several_and_people_filters_work(client, seeded, runtime):
    with runtime.sessions() as db, db.begin():
        db.query(Ticket).filter_by(key="SUP-2").update({"assignee_name": "Dana Agent"})
    sign_in(client, "viewer@acme.test")
    both = client.get("/?status=resolved&status=closed").get_data(as_text=True)
    assert _keys(both) == ["SUP-2", "SUP-3"]
    assert re.search(r'<option value="resolved" selected>', both) and re.search(r'value="closed" selected', both)
    page = client.get("/").get_data(as_text=True)
    assert '<option value="Vic"' in page and '<option value="Dana Agent"' in page  # the scope's people
    assert _keys(client.get("/", query_string={"reporter": "Vic"}).get_data(as_text=True)) == ["SUP-3"]
    assert _keys(client.get("/", query_string={"assignee": "Dana Agent"}).get_data(as_text=True)) == ["SUP-2"]
    assert _keys(client.get("/", query_string={"assignee": "Nobody"}).get_data(as_text=True)) == []


def test_csv_opens_in_russian_excel(client, seeded, runtime):
    _russian_subjects(runtime)
    sign_in(client, "viewer@acme.test")
    client.get("/?cols_set=1&cols=key&cols=summary&cols=status&cols=created")  # the reader's chosen columns
    response = client.get("/export.csv?lang=ru&bucket=open,resolved")
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:10]  # UTF-8 BOM
    assert response.mimetype == "text/csv" and response.mimetype_params.get("charset") == "utf-8"
    text = raw.decode("utf-8-sig")
    first_line = text.splitlines()[0]
    assert first_line == "Ключ;Тема;Статус;Создано", first_line  # ";" is Russian Excel's list separator
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert [r[0] for r in rows[1:]] == ["SUP-1", "SUP-2"]
    assert rows[1][1] == "Выгрузку отчёта не открыть"
    assert rows[1][2] == "Ожидает ответа заявителя"  # the viewer is not SUP-1's requester
    # ISO date-time in the reader's zone (UTC here): Excel reads it as a date in any locale.
    created = rows[1][3]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", created), created
    day = NOW.date().isoformat()
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "requests-org-acme-" in disposition
    assert re.search(r'requests-org-acme-\d{4}-\d{2}-\d{2}\.csv', disposition), (disposition, day)


def test_csv_in_english_uses_commas_and_defuses_formulas(client, seeded, runtime):
    with runtime.sessions() as db, db.begin():
        db.query(Ticket).filter_by(key="SUP-2").update({"summary": "=HYPERLINK(\"http://x\")"})
    sign_in(client, "alice@acme.test")
    response = client.get("/export.csv?bucket=resolved")
    assert response.get_data().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0] == ["Key", "Subject", "Status", "Priority", "Updated"]  # the default columns
    assert rows[1][:2] == ["SUP-2", "'=HYPERLINK(\"http://x\")"]
    assert re.search(r'filename="?requests-mine-\d{4}-\d{2}-\d{2}\.csv', response.headers["Content-Disposition"])
