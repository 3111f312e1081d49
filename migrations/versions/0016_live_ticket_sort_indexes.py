"""Partial indexes for every other sort of an administrator's list, built without stopping writes.

The list is grouped by bucket rank, then sorted by the chosen column, then by id. Across every organisation
only the update and the priority and status sorts had an index in that order (0014); the others read every
live ticket and sorted them all. Each index here leads with the bucket rank (written with the list's literals,
as in 0014), then the column, then the id: a page is one range of it per bucket rank, read in order.

The type, reporter and assignee indexes of 0014 are replaced by the rank-led ones, which also serve the
filters' choices (a loose scan per bucket rank), so those sorts cost no more writes than before; created,
resolved, summary and key are four more indexes on each ticket write.

Search (a word anywhere in the subject or the key, lower-cased) cannot use a B-tree. On PostgreSQL, trigram
GIN indexes of the lower-cased subject and key (pg_trgm, a trusted extension; left out where it cannot be
created) find a rare word among a million tickets, and statistics on the two expressions let the planner
tell a rare word (read its few rows through the trigrams) from a common one (read the list's index in
order until the page is full): without them it takes every word for rare.

The per-rank reads of a filtered list (`app.portal.list_rows`, the API's newest-first pages) need the planner
to know that a status lives in one bucket: without statistics on status, bucket and rank together it
estimates "in progress and closed" at hundreds of tickets and reads the whole closed range of an index to
find none; with them it sees none and probes the status index instead.

The requester index of 0002 led with the organisation: an administrator's own requests ("mine", the API's
default scope, and the list's "awaiting your reply") are in any organisation, so each read scanned all of
it. Its columns swap: e-mail, then organisation, which serves a requester's own requests as before.

Built concurrently on PostgreSQL (`sync.index_build`): writes to tickets go on while they build.

Revision ID: 0016
Revises: 0014
"""
from alembic import op

from sync.index_build import create_extension, create_indexes, drop_indexes, live_predicate

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

_RANK = "(CASE bucket WHEN 'open' THEN 0 WHEN 'resolved' THEN 1 WHEN 'closed' THEN 2 ELSE 3 END)"
INDEXES = {
    "ix_tickets_live_rank_created": f"{_RANK}, created_at, id",
    "ix_tickets_live_rank_resolved": f"{_RANK}, resolved_at, id",
    "ix_tickets_live_rank_summary": f"{_RANK}, summary, id",
    "ix_tickets_live_rank_key": f"{_RANK}, project_key, length(key), key, id",
    "ix_tickets_live_rank_type": f"{_RANK}, coalesce(request_type_name, issue_type_name), id",
    "ix_tickets_live_rank_reporter": f"{_RANK}, reporter_name, id",
    "ix_tickets_live_rank_assignee": f"{_RANK}, assignee_name, id",
}
REPLACED = {
    "ix_tickets_live_type": "coalesce(request_type_name, issue_type_name)",
    "ix_tickets_live_reporter": "reporter_name",
    "ix_tickets_live_assignee": "assignee_name",
}

# PostgreSQL only, and only with pg_trgm: not in the models (tests/test_migrations.py leaves them out).
TRIGRAM_INDEXES = {
    "ix_tickets_live_summary_trgm": "lower(summary) gin_trgm_ops",
    "ix_tickets_live_key_trgm": "lower(key) gin_trgm_ops",
}
REQUESTER = {"ix_tickets_reporter_email_org": "reporter_email, organization_id"}
REQUESTER_BEFORE = {"ix_tickets_org_reporter_email": "organization_id, reporter_email"}
FOLD_STATISTICS = "st_tickets_folded_text"
STATUS_STATISTICS = "st_tickets_status_rank"


def upgrade() -> None:
    live = live_predicate(op.get_bind().dialect.name)
    create_indexes(op, "tickets", INDEXES, live)
    drop_indexes(op, list(REPLACED))
    create_indexes(op, "tickets", REQUESTER)
    drop_indexes(op, list(REQUESTER_BEFORE))
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE STATISTICS IF NOT EXISTS {STATUS_STATISTICS} (mcv) ON customer_status, bucket, {_RANK} "
               "FROM tickets")
    if create_extension(op, "pg_trgm"):
        create_indexes(op, "tickets", TRIGRAM_INDEXES, live, using="gin")
        op.execute(f"CREATE STATISTICS IF NOT EXISTS {FOLD_STATISTICS} ON lower(summary), lower(key) FROM tickets")
    op.execute("ANALYZE tickets")  # reads a sample; writes go on


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS IF EXISTS {FOLD_STATISTICS}")
        op.execute(f"DROP STATISTICS IF EXISTS {STATUS_STATISTICS}")
        drop_indexes(op, list(TRIGRAM_INDEXES))
    create_indexes(op, "tickets", REQUESTER_BEFORE)
    drop_indexes(op, list(REQUESTER))
    create_indexes(op, "tickets", REPLACED, live_predicate(op.get_bind().dialect.name))
    drop_indexes(op, list(INDEXES))
