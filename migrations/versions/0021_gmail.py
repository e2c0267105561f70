"""Gmail two-way e-mail: what the spec's email tables lack.

- `email_accounts`: the sync cursor (`gmail_history_id`), when a sync started, its last error
  (and when), and since when Google refused the grant (`invalid_grant`: "reconnect"); one
  account per (provider, address).
- `email_messages.email_account_id`: the mailbox an outbound e-mail leaves from.
- `email_message_sources`: each mailbox's Gmail copy of a stored e-mail (Gmail ids are per
  mailbox), unique per (account, Gmail id).

Revision ID: 0021_gmail
Revises: 0020_inbox_email
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_gmail"
down_revision = "0020_inbox_email"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("email_accounts", sa.Column("gmail_history_id", sa.Text(), nullable=True))
    op.add_column("email_accounts", sa.Column("sync_started_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("email_accounts", sa.Column("last_sync_error", sa.Text(), nullable=True))
    op.add_column("email_accounts", sa.Column("last_sync_error_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("email_accounts", sa.Column("reconnect_needed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_unique_constraint(op.f("uq_email_accounts_provider_email_address"), "email_accounts",
                                ["provider", "email_address"])
    op.add_column("email_messages", sa.Column("email_account_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_email_messages_email_account_id_email_accounts"), "email_messages",
                          "email_accounts", ["email_account_id"], ["id"], ondelete="SET NULL")
    op.create_table(
        "email_message_sources",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email_account_id", sa.Uuid(), nullable=False),
        sa.Column("gmail_message_id", sa.Text(), nullable=False),
        sa.Column("gmail_thread_id", sa.Text(), nullable=True),
        sa.Column("email_message_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["email_account_id"], ["email_accounts.id"], ondelete="CASCADE",
                                name=op.f("fk_email_message_sources_email_account_id_email_accounts")),
        sa.ForeignKeyConstraint(["email_message_id"], ["email_messages.id"], ondelete="CASCADE",
                                name=op.f("fk_email_message_sources_email_message_id_email_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_message_sources")),
        sa.UniqueConstraint("email_account_id", "gmail_message_id",
                            name=op.f("uq_email_message_sources_email_account_id_gmail_message_id")),
    )
    op.create_index("ix_email_message_sources_account_thread", "email_message_sources",
                    ["email_account_id", "gmail_thread_id"])
    op.create_index(op.f("ix_email_message_sources_email_message_id"), "email_message_sources",
                    ["email_message_id"])


def downgrade():
    op.drop_table("email_message_sources")
    op.drop_constraint(op.f("fk_email_messages_email_account_id_email_accounts"), "email_messages",
                       type_="foreignkey")
    op.drop_column("email_messages", "email_account_id")
    op.drop_constraint(op.f("uq_email_accounts_provider_email_address"), "email_accounts", type_="unique")
    for column in ("reconnect_needed_at", "last_sync_error_at", "last_sync_error", "sync_started_at",
                   "gmail_history_id"):
        op.drop_column("email_accounts", column)
