"""The rep's home: "Needs reply" of one rep from an index.

The home lists a rep's oldest conversations waiting for a reply and counts them. With
2,000,000 messages (426,000 conversations, 6,600 waiting for the busiest rep) the shared
queue indexes made that a walk of the whole queue (68 ms cold); this partial index on the
rep's waiting conversations, with `snoozed_until` carried for the snooze filter, answers the
count by an index-only scan and the first rows in order (1 ms).

Revision ID: 0035_home_needs_reply
Revises: 0034_search_scan
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0035_home_needs_reply"
down_revision = "0034_search_scan"
branch_labels = None
depends_on = None

WAITING = "awaiting_reply AND done_at IS NULL AND NOT is_archived"


def upgrade() -> None:
    op.create_index("ix_conversations_rep_needs_reply", "conversations", ["user_id", "last_message_at"],
                    postgresql_include=["snoozed_until"], postgresql_where=sa.text(WAITING))


def downgrade() -> None:
    op.drop_index("ix_conversations_rep_needs_reply", table_name="conversations")
