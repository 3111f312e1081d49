"""Partial indexes that let the sync-health snapshot and each /metrics scrape read tickets through indexes.

Per scrape, the snapshot counts the live tickets of each project and finds the newest `jira_updated_at`
(`sync.inbound.health.snapshot`), and the collector counts the live tickets whose status fell back
(`app.metrics.StoreCollector`). Both read every ticket row, payload columns and all. With an index of live
tickets by project and update time, the per-project count and newest update are one index-only scan, in
project order; with an index of the live tickets whose status fell back (few: a mapping covers most
statuses), their count reads only those entries, and a ticket that did not fall back writes none.

Built concurrently on PostgreSQL (`sync.index_build`): writes to tickets go on while they build.

Revision ID: 0019
Revises: 0018
"""
from alembic import op

from sync.index_build import create_indexes, drop_indexes, live_predicate

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

PROJECT = {"ix_tickets_live_project_updated": "project_key, jira_updated_at"}
FELL_BACK = {"ix_tickets_live_fell_back": "id"}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    live = live_predicate(dialect)
    create_indexes(op, "tickets", PROJECT, live)
    fell_back = "status_fell_back IS true" if dialect == "postgresql" else "status_fell_back IS 1"
    create_indexes(op, "tickets", FELL_BACK, f"{fell_back} AND {live}")


def downgrade() -> None:
    drop_indexes(op, [*FELL_BACK, *PROJECT])
