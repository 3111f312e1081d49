"""Partial indexes of an organisation's live tickets by type, reporter and assignee: the list's filter choices
for a big customer, built without stopping writes.

The list offers the types, reporters and assignees found in the reader's scope. Across every organisation
a loose scan of the rank-led indexes of 0016 gives them (one probe per value and bucket rank); within one
organisation those indexes hold every organisation's values, so each probe walks past the names the others
use (seconds for a customer of 50,000 tickets in a million whose reporters are few), and reading the
organisation's rows instead costs a pass over all of them per choice list. Led by the organisation, each
index here gives an organisation's values by one probe per value (`app.services.distinct_values`).

Built concurrently on PostgreSQL (`sync.index_build`): writes to tickets go on while they build.

Revision ID: 0020
Revises: 0019
"""
from alembic import op

from sync.index_build import create_indexes, drop_indexes, live_predicate

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_tickets_live_org_type": "organization_id, coalesce(request_type_name, issue_type_name)",
    "ix_tickets_live_org_reporter": "organization_id, reporter_name",
    "ix_tickets_live_org_assignee": "organization_id, assignee_name",
}


def upgrade() -> None:
    create_indexes(op, "tickets", INDEXES, live_predicate(op.get_bind().dialect.name))


def downgrade() -> None:
    drop_indexes(op, list(INDEXES))
