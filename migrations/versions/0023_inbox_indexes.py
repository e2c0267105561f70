"""The inbox at the scale of five years (bench.inbox, 2M messages): indexes its reads walk.

A queue page is a keyset page `WHERE [NOT] is_archived AND ... ORDER BY last_message_at
DESC, id DESC LIMIT 51`. Its indexes lead with is_archived (every page says which side it
shows, so that is an index condition, not a filter) and then hold that order:
- ix_conversations_queue: every tab (the spec's index has no id: each page ended in a
  sort; and "archived" was a filter over all 426k conversations);
- partial ones for the tabs and filters that keep few rows, so that a page reads about 51
  index entries instead of filtering its way down the queue: Needs reply (awaiting a reply,
  not done), Snoozed, Unmatched (no lead), Unread. PostgreSQL uses a partial index only when
  the query's WHERE implies its predicate, word for word for booleans: the queue says
  `awaiting_reply` / `NOT is_archived`, never `IS true` / `IS false`
  (tests/integration/inbox/test_inbox_statements.py checks that the plans can use them).
- conversations_queue_state: statistics on the inbox state together. Unread conversations
  are nearly all waiting for a reply; taken as independent, "Needs reply + unread" was
  expected to keep 400 of 15,000 rows and the planner chose a bitmap of two indexes and a
  sort (110 ms) over walking the Needs reply index (under 1 ms).

The lead page's panels:
- email_threads (lead_id, last_message_at DESC NULLS LAST, created_at DESC): the lead's
  latest thread, and its most recently active threads (the newest e-mails are in them);
- sms_messages (lead_id, created_at DESC, id DESC): the texts panel's last 100.

Revision ID: 0023_inbox_indexes
Revises: 0022_inbox_items
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0023_inbox_indexes"
down_revision = "0022_inbox_items"
branch_labels = None
depends_on = None

KEYSET = ["is_archived", sa.text("last_message_at DESC"), sa.text("id DESC")]
PARTIAL = {
    "ix_conversations_needs_reply": "awaiting_reply AND done_at IS NULL",
    "ix_conversations_snoozed": "snoozed_until IS NOT NULL",
    "ix_conversations_unmatched": "lead_id IS NULL",
    "ix_conversations_unread_queue": "unread_count > 0",
}


def upgrade():
    op.create_index("ix_conversations_queue", "conversations", KEYSET)
    for name, where in PARTIAL.items():
        op.create_index(name, "conversations", KEYSET, postgresql_where=sa.text(where))
    op.execute("CREATE STATISTICS conversations_queue_state (dependencies, mcv) "
               "ON awaiting_reply, unread_count, is_archived, done_at FROM conversations")
    op.create_index("ix_email_threads_lead_latest", "email_threads",
                    ["lead_id", sa.text("last_message_at DESC NULLS LAST"), sa.text("created_at DESC")])
    op.create_index("ix_sms_messages_lead_thread", "sms_messages",
                    ["lead_id", sa.text("created_at DESC"), sa.text("id DESC")])


def downgrade():
    op.drop_index("ix_sms_messages_lead_thread", table_name="sms_messages")
    op.drop_index("ix_email_threads_lead_latest", table_name="email_threads")
    op.execute("DROP STATISTICS conversations_queue_state")
    for name in reversed(PARTIAL):
        op.drop_index(name, table_name="conversations")
    op.drop_index("ix_conversations_queue", table_name="conversations")
