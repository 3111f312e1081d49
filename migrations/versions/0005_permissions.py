"""Permissions as data: defined roles, groups with members and roles, extra roles per user, the audit log.

Existing users keep what they see: each distinct (organisation, group_name) becomes a group with those
users as members, so group leads still see the same group; built-in roles keep their permissions in code.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    conn = op.get_bind()
    # Read first: on SQLite the batch below rebuilds `users`, and rows referring to it must come after.
    old_groups = conn.execute(sa.text("SELECT id, organization_id, group_name FROM users "
                                      "WHERE group_name IS NOT NULL AND group_name <> ''")).all()
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("theme", sa.String(8), nullable=True))
        batch.add_column(sa.Column("last_login_at", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_column("group_name")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("session_generation", server_default=None)
    op.create_table(
        "roles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("leading", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role_name", sa.String(64), primary_key=True),
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organization_id", sa.Integer(), sa.ForeignKey("organizations.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.UniqueConstraint("organization_id", "name", name="uq_groups_org_name"),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_group_members_user_id", "group_members", ["user_id"])
    op.create_table(
        "group_roles",
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role_name", sa.String(64), primary_key=True),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("actor_email", sa.String(255), nullable=True),
        sa.Column("organization_id", sa.Integer(), sa.ForeignKey("organizations.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"])
    op.create_index("ix_audit_entries_organization_id", "audit_entries", ["organization_id"])
    _groups_from_group_names(conn, old_groups)


def _groups_from_group_names(conn: sa.Connection, rows: list[sa.Row]) -> None:
    """One group per (organisation, group_name) with those users as members: group scopes stay the same."""
    group_ids: dict[tuple[int | None, str], int] = {}
    for user_id, org_id, name in rows:
        key = (org_id, name)
        if key not in group_ids:
            conn.execute(sa.text("INSERT INTO groups (organization_id, name, created_at) "
                                 "VALUES (:org, :name, CURRENT_TIMESTAMP)"), {"org": org_id, "name": name})
            group_ids[key] = conn.execute(sa.text(
                "SELECT id FROM groups WHERE name = :name AND "
                "(organization_id = :org OR (organization_id IS NULL AND :org IS NULL))"),
                {"org": org_id, "name": name}).scalar_one()
        conn.execute(sa.text("INSERT INTO group_members (group_id, user_id) VALUES (:g, :u)"),
                     {"g": group_ids[key], "u": user_id})


def downgrade() -> None:
    conn = op.get_bind()
    # A user keeps the first of their groups (the old schema had one group per user).
    firsts = conn.execute(sa.text("SELECT m.user_id, MIN(g.name) FROM group_members m JOIN groups g "
                                  "ON g.id = m.group_id GROUP BY m.user_id")).all()
    op.drop_index("ix_audit_entries_organization_id", "audit_entries")
    op.drop_index("ix_audit_entries_at", "audit_entries")
    op.drop_table("audit_entries")
    op.drop_table("group_roles")
    op.drop_index("ix_group_members_user_id", "group_members")
    op.drop_table("group_members")
    op.drop_table("groups")
    op.drop_table("user_roles")
    op.drop_table("roles")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("group_name", sa.String(128), nullable=True))
        batch.drop_column("session_generation")
        batch.drop_column("last_login_at")
        batch.drop_column("theme")
    for user_id, name in firsts:
        conn.execute(sa.text("UPDATE users SET group_name = :n WHERE id = :u"), {"n": name, "u": user_id})
