"""Share links travel: who made a link, its language and subjects choice, its reads; monthly report opt-in.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_SHARE_COLUMNS = ("share_created_by_id", "share_created_at", "share_locale", "share_with_subjects",
                  "share_access_count", "share_last_access_at")


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch mode, which would recreate tables other tables reference).
    op.add_column("organizations", sa.Column("share_created_by_id", sa.Integer(), nullable=True))
    op.add_column("organizations", sa.Column("share_created_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("organizations", sa.Column("share_locale", sa.String(8), nullable=True))
    op.add_column("organizations", sa.Column("share_with_subjects", sa.Boolean(), nullable=False,
                                             server_default=sa.false()))
    op.add_column("organizations", sa.Column("share_access_count", sa.Integer(), nullable=False,
                                             server_default="0"))
    op.add_column("organizations", sa.Column("share_last_access_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("notification_preferences", sa.Column("monthly_report", sa.Boolean(), nullable=False,
                                                        server_default=sa.false()))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), for the reason given in 0009.
    op.execute("ALTER TABLE notification_preferences DROP COLUMN monthly_report")
    for column in reversed(_SHARE_COLUMNS):
        op.execute(f"ALTER TABLE organizations DROP COLUMN {column}")
