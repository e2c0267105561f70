"""Gmail push: when each mailbox's users.watch ends (Gmail stops notifying after at most 7 days
unless watch is called again) and why the last renewal failed (app/inbox/email/watch.py).

Revision ID: 0029_gmail_watch
Revises: 0026_reports
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0029_gmail_watch"
down_revision = "0026_reports"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("email_accounts", sa.Column("gmail_watch_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("email_accounts", sa.Column("gmail_watch_error", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("email_accounts", "gmail_watch_error")
    op.drop_column("email_accounts", "gmail_watch_expires_at")
