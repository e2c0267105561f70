"""The inbox queue's state on a conversation (the spec has only is_archived and unread_count).

- conversations.awaiting_reply: the last message is inbound and nobody has answered it
  (set by an inbound text, cleared by an outbound one or "done").
- conversations.done_at: a rep marked it done (cleared by the next inbound message).
- conversations.snoozed_until: hidden from "Needs reply" until then (cleared by the next
  inbound message).
- ix_conversations_unread: partial index the nav badge's COUNT reads.

Revision ID: 0019_inbox_queue
Revises: 0018_inbox_calls
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_inbox_queue"
down_revision = "0018_inbox_calls"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("conversations", sa.Column("awaiting_reply", sa.Boolean(), nullable=False,
                                             server_default=sa.text("false")))
    op.add_column("conversations", sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("conversations", sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE conversations SET awaiting_reply = true WHERE unread_count > 0")
    op.create_index("ix_conversations_unread", "conversations", ["user_id"],
                    postgresql_where=sa.text("unread_count > 0 AND NOT is_archived"))


def downgrade():
    op.drop_index("ix_conversations_unread", table_name="conversations")
    op.drop_column("conversations", "snoozed_until")
    op.drop_column("conversations", "done_at")
    op.drop_column("conversations", "awaiting_reply")
