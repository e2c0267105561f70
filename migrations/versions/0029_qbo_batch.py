"""QuickBooks batch requests and the refund account.

- `quickbooks_sync_ledger.batch_id`: the `requestid` of the batch request (/batch) a row went
  out in (a uuid, 36 characters: Intuit's limit inside a batch). A worker that died after
  the batch was sent and before its commit leaves the rows IN_FLIGHT with it: the rows are
  sent again together under the same requestid, and QuickBooks answers the original batch.
- `quickbooks_connections.refund_account_id`: the Bank account a RefundReceipt is paid from
  when QBO_REFUND_ACCOUNT_ID is not set (found once by a query, kept per connection).

Revision ID: 0029_qbo_batch
Revises: 0032_won_lost_rollup
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0029_qbo_batch"
down_revision = "0032_won_lost_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("quickbooks_sync_ledger", sa.Column("batch_id", sa.Text(), nullable=True))
    op.create_index(op.f("ix_quickbooks_sync_ledger_batch_id"), "quickbooks_sync_ledger", ["batch_id"])
    op.add_column("quickbooks_connections", sa.Column("refund_account_id", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("quickbooks_connections", "refund_account_id")
    op.drop_index(op.f("ix_quickbooks_sync_ledger_batch_id"), table_name="quickbooks_sync_ledger")
    op.drop_column("quickbooks_sync_ledger", "batch_id")
