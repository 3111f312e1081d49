"""/metrics reuses its count of unmapped Jira values (a scan of every live ticket) for a while, and counts afresh
once that while is over or the active mapping is another one; the counts are those of the admin's report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy import insert

from app.metrics import UnmappedCounts
from sync.mapping_store import publish_version
from sync.models import Ticket
from sync.projection.unmapped import unmapped_report

START = datetime(2026, 1, 1, tzinfo=UTC)


def _ticket_in_status(runtime: Any, n: int, status: str) -> None:
    with runtime.sessions() as db, db.begin():
        db.execute(insert(Ticket), [{
            "jira_id": str(n), "key": f"SUP-{n}", "project_key": "SUP", "jira_status_id": f"9{n}",
            "jira_status_name": status, "jira_status_category": "indeterminate", "customer_status": "in_progress",
            "customer_priority": "normal", "bucket": "open", "status_fell_back": True, "created_at": START,
            "jira_updated_at": START}])


def _report(runtime: Any) -> dict[str, int]:
    return {kind: len(values) for kind, values in unmapped_report(runtime).items()}


def test_unmapped_counts_are_kept_until_they_age_or_the_mapping_changes(runtime: Any) -> None:
    now = [1000.0]
    counts = UnmappedCounts(max_age=300, clock=lambda: now[0])
    _ticket_in_status(runtime, 1, "Nowhere One")
    first = counts.counts(runtime)
    assert first == _report(runtime) and first["statuses"] >= 1

    _ticket_in_status(runtime, 2, "Nowhere Two")
    now[0] += 299
    assert counts.counts(runtime) == first  # still within its age: not counted again
    now[0] += 1
    second = counts.counts(runtime)
    assert second == _report(runtime) and second["statuses"] == first["statuses"] + 1

    _ticket_in_status(runtime, 3, "Nowhere Three")
    publish_version(runtime, yaml.safe_dump(runtime.mapping.to_dict()), author="test")
    runtime.forget_mapping()
    third = counts.counts(runtime)  # a new mapping: counted at once, though the last count is fresh
    assert third == _report(runtime) and third["statuses"] == second["statuses"] + 1


def test_a_scrape_reports_the_unmapped_counts(app: Any, runtime: Any) -> None:
    _ticket_in_status(runtime, 1, "Nowhere One")
    scraped = app.test_client().get("/metrics").get_data(as_text=True)
    expected = _report(runtime)
    assert f'companion_unmapped_jira_values{{kind="status"}} {float(expected["statuses"])}' in scraped
    assert f'companion_unmapped_jira_values{{kind="priority"}} {float(expected["priorities"])}' in scraped
