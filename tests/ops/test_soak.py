"""The short chaos soak in `make test`: a small scenario, the same checks as `make soak`."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import NO_PG_REASON
from tests.ops.soak import run_soak


@pytest.mark.soak
@pytest.mark.slow
def test_short_soak_loses_and_doubles_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip(NO_PG_REASON + ": the soak kills PostgreSQL backends")
    report = run_soak(operations=30, requests_n=5, chaos_every=2.5, seed=7, work_dir=tmp_path)
    shown = json.dumps(report, indent=2)
    assert report["lost"] == [] and report["doubled"] == [], shown
    assert report["mismatches"] == 0, shown
    assert report["backlog_at_end"] == {"outbox": 0, "inbox": 0}, shown
    assert report["actions"]["accepted_comments"] > 0 and sum(report["kills"].values()) > 0, shown
    assert report["blows"] >= 6, shown  # one whole round: workers, the leading scheduler, web, Redis, database
    mail = report["notifications"]
    # Every public agent reply reached the customer in exactly one e-mail; no internal note, no second copy.
    assert mail["support_replies"] > 0 and mail["replies_mailed_once"] == mail["support_replies"], shown
    assert mail["duplicate_message_ids"] == [] and mail["internal_notes_mailed"] == [], shown
    assert report["ok"], shown
