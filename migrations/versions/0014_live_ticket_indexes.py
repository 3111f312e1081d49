"""Partial indexes of live tickets for lists of many tickets (an administrator's, or a big organisation's).

Each lets one part of such a list be read through an index instead of every ticket: the page in bucket and
update order (across every organisation, and per organisation), the priority and status sorts and counts,
and the loose index scans that list the types, reporters and assignees for the filters. The bucket rank is
written with literals, exactly as the list queries write it (`sync.models.BUCKET_RANK`): PostgreSQL matches
an index on an expression only to the same expression.

Revision ID: 0014
Revises: 0013
"""
from alembic import op

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
    live = "deleted IS false" if op.get_bind().dialect.name == "postgresql" else "deleted IS 0"
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON tickets ({columns}) WHERE {live}")


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="tickets")
