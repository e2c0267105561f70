"""The lead's one conversation (app/inbox/thread/): each branch of its UNION reads its rows in
time order from an index instead of sorting all of a busy lead's messages.

- email_messages (thread_id, created_at, id): the lead's threads, then each thread's newest
  messages (the id: the keyset's tie-break, so the scan needs no sort)

(sms_messages (lead_id, created_at DESC, id DESC) came with 0023_inbox_indexes; call_logs (lead_id,
created_at) and bookings (lead_id, start_at) exist already.)

Revision ID: 0028_thread
Revises: 0027_throughput
Create Date: 2026-11-27
"""
from alembic import op

revision = "0028_thread"
down_revision = "0027_throughput"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_email_messages_thread_id_created_at", "email_messages", ["thread_id", "created_at", "id"])


def downgrade():
    op.drop_index("ix_email_messages_thread_id_created_at", table_name="email_messages")
