"""Request ids on inbox rows and outbox actions: one delivery or action followed across processes' logs.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_events") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))
    with op.batch_alter_table("outbox_actions") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_actions") as batch:
        batch.drop_column("request_id")
    with op.batch_alter_table("inbound_events") as batch:
        batch.drop_column("request_id")
