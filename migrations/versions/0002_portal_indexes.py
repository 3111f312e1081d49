"""Indexes for the portal's list, summary, request page, status history and ticket sync blocks.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_org_created", "tickets", ["organization_id", "created_at"])
    op.create_index("ix_tickets_org_reporter_email", "tickets", ["organization_id", "reporter_email"])
    op.create_index("ix_history_ticket_at", "status_history", ["ticket_id", "at"])
    op.create_index("ix_history_at", "status_history", ["at"])
    op.create_index("ix_comments_ticket_visible", "comments", ["ticket_id", "public", "deleted", "created_at"])
    op.create_index("ix_outbox_ticket_state", "outbox_actions", ["ticket_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_outbox_ticket_state", "outbox_actions")
    op.drop_index("ix_comments_ticket_visible", "comments")
    op.drop_index("ix_history_at", "status_history")
    op.drop_index("ix_history_ticket_at", "status_history")
    op.drop_index("ix_tickets_org_reporter_email", "tickets")
    op.drop_index("ix_tickets_org_created", "tickets")
