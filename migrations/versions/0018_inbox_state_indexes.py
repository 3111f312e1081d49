"""The inbox's indexes: pending and failed rows only, and none on the issue key.

Every applied webhook changes its inbox row's state once (pending → applied), and such an update writes a
new entry into each of the table's indexes whose key or predicate it touches. `(state, id)` took one for
every row, though only the pending rows are ever looked for in order (the drain's claim, the sweeper's
backlog count) and the failed ones listed (the health page); `issue_key` took one for every row and is
read by nothing. With an index of the ids of each state but applied (pending, failed, ignored), an applied
row is in none of them, and its update writes the primary key's and the delivery id's entries only: the drain's outcome UPDATE of
200 rows went from 4.2 to 1.7 ms of server time (bench/apply.py's inbox, PostgreSQL 15).

Built and dropped concurrently on PostgreSQL (`sync.index_build`): deliveries go on being stored meanwhile.

Revision ID: 0018
Revises: 0016
"""
from alembic import op

from sync.index_build import create_indexes, drop_indexes

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

BY_STATE = {"ix_inbound_pending": "pending", "ix_inbound_failed": "failed", "ix_inbound_ignored": "ignored"}
BEFORE = {"ix_inbound_state_id": "state, id", "ix_inbound_events_issue_key": "issue_key"}


def upgrade() -> None:
    for name, state in BY_STATE.items():
        create_indexes(op, "inbound_events", {name: "id"}, f"state = '{state}'")
    drop_indexes(op, list(BEFORE))


def downgrade() -> None:
    create_indexes(op, "inbound_events", BEFORE)
    drop_indexes(op, list(BY_STATE))
