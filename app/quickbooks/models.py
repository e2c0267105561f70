"""QuickBooks Online: the one connection (realm and tokens, sealed) and the sync ledger.

Not in the spec (migrations 0025_quickbooks, 0029_qbo_batch). Every push to QuickBooks is a ledger row written
in the transaction of the change that needs it; its id is the `requestid` QuickBooks is sent,
so a create retried after a crash returns the object the first attempt made.
"""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, Integer, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import created_at, updated_at, uuid_pk
from app.extensions import db


class ConnectionStatus(enum.Enum):
    CONNECTED = "CONNECTED"
    DEAD = "DEAD"  # the grant died (invalid_grant): a person must reconnect
    DISCONNECTED = "DISCONNECTED"


class LedgerState(enum.Enum):
    PENDING = "PENDING"
    IN_FLIGHT = "IN_FLIGHT"
    SYNCED = "SYNCED"
    FAILED = "FAILED"
    CONFLICT = "CONFLICT"
    SKIPPED = "SKIPPED"


class LedgerEntity(enum.Enum):
    CUSTOMER = "CUSTOMER"
    INVOICE = "INVOICE"
    PAYMENT = "PAYMENT"
    REFUND = "REFUND"


class LedgerOperation(enum.Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    VOID = "VOID"


class QuickBooksConnection(db.Model):
    """One row per connect; at most one not DISCONNECTED. Realm id and tokens are sealed with
    app.integrations.secrets (AES-256-GCM)."""

    __tablename__ = "quickbooks_connections"
    __table_args__ = (
        Index("uq_quickbooks_connections_live", "environment", unique=True,
              postgresql_where=text("status <> 'DISCONNECTED'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    environment: Mapped[str]
    status: Mapped[ConnectionStatus] = mapped_column(Enum(ConnectionStatus, name="quickbooks_connection_status"))
    realm_id_sealed: Mapped[str]
    access_token_sealed: Mapped[str | None]
    access_expires_at: Mapped[datetime | None]
    refresh_token_sealed: Mapped[str | None]
    refresh_expires_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]
    connected_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    connected_at: Mapped[datetime]
    dead_at: Mapped[datetime | None]
    dead_reason: Mapped[str | None]
    disconnected_at: Mapped[datetime | None]
    items_full_at: Mapped[datetime | None]  # the last full pull of items
    items_cdc_at: Mapped[datetime | None]  # the CDC watermark (QuickBooks' time of the last pull)
    last_push_at: Mapped[datetime | None]
    refund_account_id: Mapped[str | None]  # the Bank account refunds are paid from (found once)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class SyncLedgerRow(db.Model):
    __tablename__ = "quickbooks_sync_ledger"
    __table_args__ = (
        # One create per local object, ever; one waiting update/void per local object.
        Index("uq_quickbooks_sync_ledger_one_create", "entity", "local_id", unique=True,
              postgresql_where=text("operation = 'CREATE'")),
        Index("uq_quickbooks_sync_ledger_one_waiting", "entity", "local_id", "operation", unique=True,
              postgresql_where=text("state = 'PENDING' AND operation <> 'CREATE'")),
        Index(None, "state", "next_attempt_at"),
        Index(None, "company_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    entity: Mapped[LedgerEntity] = mapped_column(Enum(LedgerEntity, name="quickbooks_ledger_entity"))
    local_id: Mapped[uuid.UUID]
    company_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    operation: Mapped[LedgerOperation] = mapped_column(Enum(LedgerOperation, name="quickbooks_ledger_operation"))
    state: Mapped[LedgerState] = mapped_column(Enum(LedgerState, name="quickbooks_ledger_state"), index=True)
    remote_id: Mapped[str | None]
    request_id: Mapped[str]  # what QuickBooks is sent as `requestid` (the row's id)
    batch_id: Mapped[str | None] = mapped_column(index=True)  # the batch request's requestid it went out in
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    last_error: Mapped[str | None]
    conflict: Mapped[dict[str, Any] | None]  # what a person chooses from (candidates, the disagreement)
    history: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"), default=list)
    next_attempt_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]  # when the last attempt took the row (IN_FLIGHT)
    synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
