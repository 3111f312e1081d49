"""Request participants in their own table, so the scope rule can find a participant's tickets by index.

The JSON list `tickets.participant_account_ids` is moved into `ticket_participants` (one row per ticket and
account) and dropped: the table is the one record of who takes part in a request.

Revision ID: 0012
Revises: 0011
"""
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BATCH = 5000


def _pairs(ticket_id: int, raw: Any) -> list[dict[str, Any]]:
    """The (ticket, account) rows one stored JSON list gives: strings only, each account once."""
    accounts = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(accounts, list):
        return []
    wanted = dict.fromkeys(a for a in accounts if isinstance(a, str) and a and len(a) <= 128)
    return [{"ticket_id": ticket_id, "account_id": account} for account in wanted]


def upgrade() -> None:
    participants = op.create_table(
        "ticket_participants",
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("account_id", sa.String(128), primary_key=True),
    )
    op.create_index("ix_ticket_participants_account", "ticket_participants", ["account_id", "ticket_id"])
    conn = op.get_bind()
    # Only tickets with participants are read (most have none); in id order, a batch at a time.
    rows = conn.execute(sa.text("SELECT id, participant_account_ids FROM tickets "
                                "WHERE participant_account_ids IS NOT NULL ORDER BY id")).yield_per(_BATCH)
    batch: list[dict[str, Any]] = []
    for ticket_id, raw in rows:
        batch.extend(_pairs(ticket_id, raw))
        if len(batch) >= _BATCH:
            conn.execute(participants.insert(), batch)
            batch = []
    if batch:
        conn.execute(participants.insert(), batch)
    # A plain DROP COLUMN (SQLite 3.35+): batch mode would recreate `tickets`, which other tables reference.
    op.execute("ALTER TABLE tickets DROP COLUMN participant_account_ids")


def downgrade() -> None:
    op.add_column("tickets", sa.Column("participant_account_ids", sa.JSON(), nullable=False,
                                       server_default="[]"))
    conn = op.get_bind()
    lists: dict[int, list[str]] = {}
    for ticket_id, account_id in conn.execute(sa.text(
            "SELECT ticket_id, account_id FROM ticket_participants ORDER BY ticket_id, account_id")):
        lists.setdefault(ticket_id, []).append(account_id)
    for ticket_id, accounts in lists.items():
        conn.execute(sa.text("UPDATE tickets SET participant_account_ids = :a WHERE id = :i"),
                     {"a": json.dumps(accounts), "i": ticket_id})
    op.drop_index("ix_ticket_participants_account", table_name="ticket_participants")
    op.drop_table("ticket_participants")
