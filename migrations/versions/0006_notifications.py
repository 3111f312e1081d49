"""E-mail notifications: change facts, per-recipient rows, outgoing mails, preferences, single-use account links.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "notification_events", _id(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("actor_account_id", sa.String(128)),
        sa.Column("details", sa.JSON(), nullable=False),
        _when("created_at", False),
        sa.Column("fanned_out", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_notification_events_ticket_id", "notification_events", ["ticket_id"])
    op.create_index("ix_notification_events_fanned", "notification_events", ["fanned_out", "id"])
    op.create_table(
        "notification_mails", _id(),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("to_address", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="SET NULL")),
        sa.Column("message_id", sa.String(255), nullable=False, unique=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("raw", sa.Text()),
        sa.Column("scrub_after_send", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"), _when("claimed_at"), _when("handed_over_at"), _when("sent_at"),
        sa.Column("answer", sa.Text()),
        _when("created_at", False),
    )
    op.create_index("ix_notification_mails_user_id", "notification_mails", ["user_id"])
    op.create_index("ix_notification_mails_state_next", "notification_mails", ["state", "next_attempt_at"])
    op.create_table(
        "notifications", _id(),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("notification_events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _when("not_before", False),
        sa.Column("mail_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("notification_mails.id")),
        sa.Column("reason", sa.String(255)),
        sa.UniqueConstraint("event_id", "user_id", name="uq_notification_event_user"),
    )
    op.create_index("ix_notifications_state_user", "notifications", ["state", "user_id"])
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("email", sa.String(16), nullable=False),
        sa.Column("last_digest_on", sa.String(10)),
        _when("updated_at", False),
    )
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _when("expires_at", False), _when("used_at"), _when("created_at", False),
    )
    op.create_index("ix_account_tokens_user_id", "account_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_table("account_tokens")
    op.drop_table("notification_preferences")
    op.drop_table("notifications")
    op.drop_table("notification_mails")
    op.drop_table("notification_events")
