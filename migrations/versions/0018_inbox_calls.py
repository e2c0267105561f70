"""Calls and the power dialer: who made a call, who owns a call list, each rep's claim of a
list's leads, and where a voicemail drop's audio file is stored.

- call_logs.user_id: the rep who made (or logged) the call.
- call_lists.created_by_id: the list's owner (the /calls page shows it).
- call_list_claims: one row per (list, lead) a rep took from the dialer, inserted with
  ON CONFLICT DO NOTHING, so two reps on one list never get the same lead; a rep's open
  claim (completed_at NULL, at most one per rep and list) is their position in the list,
  kept across reloads and sign-ins.
- voicemail_drops.file_name: the uploaded audio file's name in VOICEMAIL_DIR (audio_url is
  the signed-in route that serves it).

Revision ID: 0018_inbox_calls
Revises: 0016_inbox_bookings
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_inbox_calls"
down_revision = "0016_inbox_bookings"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("call_logs", sa.Column("user_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_call_logs_user_id_users"), "call_logs", "users", ["user_id"], ["id"],
                          ondelete="SET NULL")
    op.add_column("call_lists", sa.Column("created_by_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_call_lists_created_by_id_users"), "call_lists", "users",
                          ["created_by_id"], ["id"], ondelete="SET NULL")
    op.add_column("voicemail_drops", sa.Column("file_name", sa.Text(), nullable=True))
    op.create_table(
        "call_list_claims",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("call_list_id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("call_log_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["call_list_id"], ["call_lists.id"], ondelete="CASCADE",
                                name=op.f("fk_call_list_claims_call_list_id_call_lists")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE",
                                name=op.f("fk_call_list_claims_lead_id_leads")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_call_list_claims_user_id_users")),
        sa.ForeignKeyConstraint(["call_log_id"], ["call_logs.id"], ondelete="SET NULL",
                                name=op.f("fk_call_list_claims_call_log_id_call_logs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_list_claims")),
        sa.UniqueConstraint("call_list_id", "lead_id", name=op.f("uq_call_list_claims_call_list_id_lead_id")),
    )
    op.create_index("ix_call_list_claims_open", "call_list_claims", ["call_list_id", "user_id"], unique=True,
                    postgresql_where=sa.text("completed_at IS NULL"))
    op.create_index(op.f("ix_call_logs_lead_id_created_at"), "call_logs", ["lead_id", "created_at"])


def downgrade():
    op.drop_index(op.f("ix_call_logs_lead_id_created_at"), table_name="call_logs")
    op.drop_index("ix_call_list_claims_open", table_name="call_list_claims")
    op.drop_table("call_list_claims")
    op.drop_column("voicemail_drops", "file_name")
    op.drop_constraint(op.f("fk_call_lists_created_by_id_users"), "call_lists", type_="foreignkey")
    op.drop_column("call_lists", "created_by_id")
    op.drop_constraint(op.f("fk_call_logs_user_id_users"), "call_logs", type_="foreignkey")
    op.drop_column("call_logs", "user_id")
