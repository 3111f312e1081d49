"""Automatic rules that fired (policy_events) and the mirror of JSM SLAs (ticket_slas).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("anchor", sa.String(64), nullable=False),
        sa.Column("clock_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_action_id", sa.Integer(), sa.ForeignKey("outbox_actions.id"), nullable=True),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.UniqueConstraint("rule", "ticket_id", "anchor", name="uq_policy_once"),
    )
    op.create_index("ix_policy_events_ticket_id", "policy_events", ["ticket_id"])
    op.create_index("ix_policy_events_fired", "policy_events", ["fired_at"])
    op.create_table(
        "ticket_slas",
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ticket_slas")
    op.drop_index("ix_policy_events_fired", table_name="policy_events")
    op.drop_index("ix_policy_events_ticket_id", table_name="policy_events")
    op.drop_table("policy_events")
