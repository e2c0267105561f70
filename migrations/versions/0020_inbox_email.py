"""E-mail from the lead page (SMTP / development outbox): what the spec's email tables lack.

- `email_status`: QUEUED -> SENDING (claimed by its send job in one conditional UPDATE) ->
  SENT / FAILED for outbound; RECEIVED for inbound.
- `email_messages`: the status, our RFC `Message-ID` (unique: inbound deduplicated by it),
  `In-Reply-To` / `References` (threading), why it failed, how often it was claimed, when it
  was claimed, and the rep who wrote it.

Revision ID: 0020_inbox_email
Revises: 0019_inbox_queue
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020_inbox_email"
down_revision = "0019_inbox_queue"
branch_labels = None
depends_on = None

STATUS = postgresql.ENUM("QUEUED", "SENDING", "SENT", "FAILED", "RECEIVED", name="email_status",
                         create_type=False)


def upgrade():
    STATUS.create(op.get_bind(), checkfirst=True)
    op.add_column("email_messages", sa.Column("status", STATUS, nullable=True))
    op.add_column("email_messages", sa.Column("message_id", sa.Text(), nullable=True))
    op.add_column("email_messages", sa.Column("in_reply_to", sa.Text(), nullable=True))
    op.add_column("email_messages", sa.Column("references", sa.Text(), nullable=True))
    op.add_column("email_messages", sa.Column("error", sa.Text(), nullable=True))
    op.add_column("email_messages", sa.Column("attempts", sa.Integer(), server_default=sa.text("0"),
                                              nullable=False))
    op.add_column("email_messages", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("email_messages", sa.Column("user_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_email_messages_user_id_users"), "email_messages", "users",
                          ["user_id"], ["id"], ondelete="SET NULL")
    op.create_unique_constraint(op.f("uq_email_messages_message_id"), "email_messages", ["message_id"])
    op.create_index("ix_email_messages_status_claimed_at", "email_messages", ["status", "claimed_at"])


def downgrade():
    op.drop_index("ix_email_messages_status_claimed_at", table_name="email_messages")
    op.drop_constraint(op.f("uq_email_messages_message_id"), "email_messages", type_="unique")
    op.drop_constraint(op.f("fk_email_messages_user_id_users"), "email_messages", type_="foreignkey")
    for column in ("user_id", "claimed_at", "attempts", "error", "references", "in_reply_to", "message_id",
                   "status"):
        op.drop_column("email_messages", column)
    STATUS.drop(op.get_bind(), checkfirst=True)
