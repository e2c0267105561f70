"""Calls, bookings and unmatched e-mail as inbox items (the spec's conversations lack these).

- conversations.last_kind: what the conversation's last item is (sms, email, call,
  missed_call, voicemail, booking_created, booking_rescheduled, booking_cancelled): the queue's
  label and icon. Missed / voicemail calls and bookings touch the lead's CALL conversation.
- conversations.unmatched_address: the unknown number (E.164) or e-mail address (normalised)
  of a conversation with no lead; unique per channel among lead-less conversations, so an
  unknown sender's messages gather in one "Unmatched" conversation (an upsert, no race).
- email_threads.conversation_id: the unmatched conversation an unknown sender's thread is in
  (attach / create-lead move the thread with it).

Revision ID: 0022_inbox_items
Revises: 0021_gmail
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_inbox_items"
down_revision = "0021_gmail"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("conversations", sa.Column("last_kind", sa.Text(), nullable=True))
    op.add_column("conversations", sa.Column("unmatched_address", sa.Text(), nullable=True))
    op.add_column("email_threads", sa.Column("conversation_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_email_threads_conversation_id_conversations"), "email_threads",
                          "conversations", ["conversation_id"], ["id"], ondelete="SET NULL")
    op.create_index(op.f("ix_email_threads_conversation_id"), "email_threads", ["conversation_id"])
    op.execute("UPDATE conversations SET last_kind = lower(channel::text)")
    # the unknown number of each existing unmatched SMS conversation (its newest inbound text);
    # only the newest conversation per number keeps it, so the unique index holds
    op.execute("""
        UPDATE conversations c SET unmatched_address = n.from_number
        FROM (
            SELECT DISTINCT ON (m.from_number) m.from_number, m.conversation_id
            FROM sms_messages m JOIN conversations cc ON cc.id = m.conversation_id
            WHERE m.direction = 'INBOUND' AND cc.lead_id IS NULL
            ORDER BY m.from_number, m.created_at DESC
        ) n
        WHERE c.id = n.conversation_id
    """)
    op.create_index("uq_conversations_unmatched_address", "conversations", ["channel", "unmatched_address"],
                    unique=True, postgresql_where=sa.text("lead_id IS NULL AND unmatched_address IS NOT NULL"))


def downgrade():
    op.drop_index("uq_conversations_unmatched_address", table_name="conversations")
    op.drop_index(op.f("ix_email_threads_conversation_id"), table_name="email_threads")
    op.drop_constraint(op.f("fk_email_threads_conversation_id_conversations"), "email_threads",
                       type_="foreignkey")
    op.drop_column("email_threads", "conversation_id")
    op.drop_column("conversations", "unmatched_address")
    op.drop_column("conversations", "last_kind")
