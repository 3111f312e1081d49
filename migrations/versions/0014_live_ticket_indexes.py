"""Partial indexes of live tickets for lists of many tickets (an administrator's, or a big organisation's).

Each lets one part of such a list be read through an index instead of every ticket: the page in bucket and
update order (across every organisation, and per organisation), the priority and status sorts and counts,
and the loose index scans that list the types, reporters and assignees for the filters. The bucket rank is
written with literals, exactly as the list queries write it (`sync.models.BUCKET_RANK`): PostgreSQL matches
an index on an expression only to the same expression.

On PostgreSQL they are built concurrently (`sync.index_build`): writes to tickets go on while they build.
An install already at 0014 has the same indexes, built plainly; nothing changes for it.

Revision ID: 0014
Revises: 0013
"""
from alembic import op

from sync.index_build import create_indexes, drop_indexes, live_predicate

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_RANK = "(CASE bucket WHEN 'open' THEN 0 WHEN 'resolved' THEN 1 WHEN 'closed' THEN 2 ELSE 3 END)"
INDEXES = {
    "ix_tickets_live_rank_updated": f"{_RANK}, jira_updated_at DESC, id DESC",
    "ix_tickets_live_org_rank_updated": f"organization_id, {_RANK}, jira_updated_at DESC, id DESC",
    "ix_tickets_live_priority": f"customer_priority, {_RANK}, id",
    "ix_tickets_live_status": f"customer_status, {_RANK}, id",
    "ix_tickets_live_type": "coalesce(request_type_name, issue_type_name)",
    "ix_tickets_live_reporter": "reporter_name",
    "ix_tickets_live_assignee": "assignee_name",
}


def upgrade() -> None:
    create_indexes(op, "tickets", INDEXES, live_predicate(op.get_bind().dialect.name))


def downgrade() -> None:
    drop_indexes(op, list(INDEXES))
