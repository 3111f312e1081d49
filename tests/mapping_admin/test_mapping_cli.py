"""`companion mappings validate|export|import`: round trip, clear errors, a new active version, re-projection."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.cli import main
from sync.models import MappingVersion, Ticket
from tests.helpers import drain, issue_payload, post_webhook


@pytest.fixture
def cli_env(settings, client, runtime, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """The CLI pointed at the test install's database and Redis."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPANION_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("COMPANION_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path))
    post_webhook(client, issue_payload("SUP-1", jira_id="1", status="Escalated", category="indeterminate"))
    drain(runtime)
    return tmp_path


def test_export_edit_validate_import_round_trip(cli_env, runtime, capsys) -> None:  # type: ignore[no-untyped-def]
    exported = cli_env / "mapping.yaml"
    assert main(["mappings", "export", str(exported)]) == 0
    assert main(["mappings", "validate", str(exported)]) == 0
    assert "valid (8 customer statuses, 3 priorities)" in capsys.readouterr().out

    broken = cli_env / "broken.yaml"
    broken.write_text(exported.read_text().replace("customer_status: awaiting_fix", "customer_status: nowhere", 1))
    assert main(["mappings", "validate", str(broken)]) == 1
    assert main(["mappings", "import", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err and "unknown status 'nowhere'" in err
    assert main(["mappings", "validate", str(cli_env / "missing.yaml")]) == 1

    edited = cli_env / "edited.yaml"
    edited.write_text(exported.read_text().replace("customer_status: awaiting_fix", "customer_status: on_hold"))
    assert main(["mappings", "import", str(edited), "--comment", "escalations pause"]) == 0
    assert "1 of 1 tickets changed customer status" in capsys.readouterr().out
    with runtime.sessions() as db:
        assert db.scalar(select(Ticket.customer_status)) == "on_hold"
        version = db.scalars(select(MappingVersion).where(MappingVersion.active.is_(True))).one()
    assert (version.version, version.author, version.comment) == (1, "cli", "escalations pause")


def test_every_portal_string_has_a_russian_translation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Extract the strings from the code as the babel.cfg workflow does; each needs a Russian translation."""
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."], cwd=root, check=True,
                   capture_output=True, timeout=120)
    with pot.open("rb") as f:
        # Keyed with the context too: pgettext("role", "Name") needs its own translation.
        wanted = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(f) if m.id}
    with (root / "app/translations/ru/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog
                  if m.id and m.string and not m.fuzzy and (m.string if isinstance(m.string, str) else m.string[0])}
    assert sorted(wanted - translated) == [], "run the babel.cfg workflow and translate these"
