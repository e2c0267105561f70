"""Reports and homes (issue 13): activities by kind and time.

- ix_activities_activity_type_occurred_at: the owner's home (each rep's work this week) and the
  reports (rep activity, stage changes in a range) read the log by kind over a span of time;
  without it each read scanned every activity.

Revision ID: 0026_reports
Revises: 0020_inbox_email
Create Date: 2026-11-27
"""
from alembic import op

revision = "0026_reports"
down_revision = "0020_inbox_email"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_activities_activity_type_occurred_at", "activities", ["activity_type", "occurred_at"])


def downgrade():
    op.drop_index("ix_activities_activity_type_occurred_at", table_name="activities")
