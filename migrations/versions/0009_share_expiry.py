"""Share links expire: when an organisation's read-only summary link stops working.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Links made before expiry existed keep working (NULL) until replaced or revoked.
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("share_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): batch mode would recreate `organizations`, which the foreign
    # keys of users, tickets and groups forbid while SQLite enforces them.
    op.execute("ALTER TABLE organizations DROP COLUMN share_expires_at")
