"""Server-side sessions, API token expiry, TOTP second factor and its recovery codes.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # Sessions signed in before this revision carried no session id: their holders sign in again once.
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        _when("created_at", False),
        _when("last_seen_at", False),
        sa.Column("user_agent", sa.String(255), nullable=False),
        sa.Column("ip_address", sa.String(64), nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        _when("used_at"),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])
    # Tokens made before expiry existed keep working until revoked (NULL).
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(_when("expires_at"))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(_when("totp_enabled_at"))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): batch mode would recreate `users`, which other tables reference.
    for column in ("totp_secret", "totp_enabled_at", "totp_last_step"):
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")
    op.execute("ALTER TABLE api_tokens DROP COLUMN expires_at")
    op.drop_table("recovery_codes")
    op.drop_table("web_sessions")
