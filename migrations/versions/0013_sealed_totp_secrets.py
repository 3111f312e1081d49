"""TOTP secrets are stored sealed (Fernet tokens, ~140 characters): widen users.totp_secret.

The secrets themselves are sealed by the application at their next accepted code, not here: a migration
is given only the database URL, never the install's secret key the key is derived from (and sealing under
a wrong key would lock every such user out).

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite does not enforce VARCHAR lengths; a batch rebuild would recreate a table others reference.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("users", "totp_secret", type_=sa.String(255), existing_type=sa.String(64),
                        existing_nullable=True)


def downgrade() -> None:
    # The earlier release cannot open sealed secrets: those users set their second factor up again.
    sealed = "totp_secret IS NOT NULL AND length(totp_secret) > 64"
    op.execute(f"DELETE FROM recovery_codes WHERE user_id IN (SELECT id FROM users WHERE {sealed})")
    op.execute(f"UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL WHERE {sealed}")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("users", "totp_secret", type_=sa.String(64), existing_type=sa.String(255),
                        existing_nullable=True)
