"""Communications: email accounts/threads/messages, SMS gateways and messages, call
logs, unified-inbox conversations, Cal.com bookings, power-dialer call lists,
voicemail drops and message templates."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    UniqueConstraint,
    Uuid,
    desc,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import created_at, sql_bool, updated_at, uuid_pk
from app.extensions import db

if TYPE_CHECKING:
    from app.auth.models import User
    from app.crm.models import Contact, Lead


class MessageDirection(enum.Enum):
    """Direction of an email, SMS or call (shared by the three)."""

    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class SmsStatus(enum.Enum):
    QUEUED = "QUEUED"
    SENDING = "SENDING"  # claimed by its send job (migration 0015_inbox_sms)
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class EmailStatus(enum.Enum):
    """Not in the spec (0020_inbox_email): an outbound e-mail's send state; RECEIVED inbound."""

    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    RECEIVED = "RECEIVED"


class CallOutcome(enum.Enum):
    CONNECTED = "CONNECTED"
    NO_ANSWER = "NO_ANSWER"
    VOICEMAIL = "VOICEMAIL"
    BUSY = "BUSY"
    WRONG_NUMBER = "WRONG_NUMBER"


class ConversationChannel(enum.Enum):
    SMS = "SMS"
    EMAIL = "EMAIL"
    CALL = "CALL"


class ConversationKind(enum.Enum):
    """What a conversation's last item is (conversations.last_kind, text; 0022_inbox_items).
    Calls and Cal.com bookings are items of the lead's CALL conversation."""

    SMS = "sms"
    EMAIL = "email"
    CALL = "call"
    MISSED_CALL = "missed_call"
    VOICEMAIL = "voicemail"
    BOOKING_CREATED = "booking_created"
    BOOKING_RESCHEDULED = "booking_rescheduled"
    BOOKING_CANCELLED = "booking_cancelled"


class BookingStatus(enum.Enum):
    SCHEDULED = "SCHEDULED"
    RESCHEDULED = "RESCHEDULED"
    CANCELLED = "CANCELLED"


class TemplateChannel(enum.Enum):
    EMAIL = "EMAIL"
    SMS = "SMS"


class TemplateCategory(enum.Enum):
    SEQUENCE = "SEQUENCE"
    CANNED = "CANNED"


def _direction_enum() -> Enum:
    # One PostgreSQL type shared by email_messages, sms_messages and call_logs.
    return Enum(MessageDirection, name="message_direction")


class EmailAccount(db.Model):
    """A connected mailbox (Gmail OAuth; SMTP fields as a fallback)."""

    __tablename__ = "email_accounts"
    __table_args__ = (UniqueConstraint("provider", "email_address"),)  # 0021_gmail

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email_address: Mapped[str]
    display_name: Mapped[str | None]
    provider: Mapped[str] = mapped_column(server_default=text("'gmail'"), default="gmail")
    gmail_refresh_token: Mapped[str | None]
    gmail_access_token: Mapped[str | None]
    gmail_token_expiry: Mapped[datetime | None]
    smtp_host: Mapped[str | None]
    smtp_port: Mapped[int | None] = mapped_column(Integer)
    smtp_user: Mapped[str | None]
    smtp_pass: Mapped[str | None]
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    last_synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    # Not in the spec (0021_gmail): see app/inbox/email/accounts.py and sync.py.
    gmail_history_id: Mapped[str | None]  # the sync cursor: never past a failed fetch
    sync_started_at: Mapped[datetime | None]
    last_sync_error: Mapped[str | None]
    last_sync_error_at: Mapped[datetime | None]
    reconnect_needed_at: Mapped[datetime | None]  # Google refused the grant (invalid_grant)
    # 0029_gmail_watch: Gmail's push (users.watch) for this mailbox ends then; renewed by app/inbox/email/watch.py
    gmail_watch_expires_at: Mapped[datetime | None]
    gmail_watch_error: Mapped[str | None]

    user: Mapped[User | None] = relationship()
    threads: Mapped[list[EmailThread]] = relationship(back_populates="email_account")

    def __repr__(self) -> str:
        return f"<EmailAccount {self.email_address}>"


class EmailThread(db.Model):
    __tablename__ = "email_threads"
    # the lead's latest and most recently active threads (0023_inbox_indexes)
    __table_args__ = (Index("ix_email_threads_lead_latest", "lead_id", text("last_message_at DESC NULLS LAST"),
                            desc("created_at")),)

    id: Mapped[uuid.UUID] = uuid_pk()
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL"), index=True
    )
    email_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("email_accounts.id"))
    gmail_thread_id: Mapped[str | None] = mapped_column(index=True)
    subject: Mapped[str | None]
    last_message_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    # Not in the spec (0022_inbox_items): an unknown sender's thread's Unmatched conversation.
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True)

    lead: Mapped[Lead | None] = relationship(back_populates="email_threads")
    email_account: Mapped[EmailAccount] = relationship(back_populates="threads")
    messages: Mapped[list[EmailMessage]] = relationship(
        back_populates="thread", order_by="EmailMessage.created_at"
    )


class EmailMessage(db.Model):
    __tablename__ = "email_messages"
    __table_args__ = (Index("ix_email_messages_status_claimed_at", "status", "claimed_at"),  # 0020
                      Index("ix_email_messages_thread_id_created_at", "thread_id", "created_at", "id"))  # 0028

    id: Mapped[uuid.UUID] = uuid_pk()
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("email_threads.id"), index=True)
    gmail_message_id: Mapped[str | None]
    direction: Mapped[MessageDirection] = mapped_column(_direction_enum())
    from_address: Mapped[str]
    to_address: Mapped[str]
    subject: Mapped[str | None]
    body_text: Mapped[str | None]
    body_html: Mapped[str | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    # Not in the spec (0020_inbox_email): see app/inbox/email/.
    status: Mapped[EmailStatus | None] = mapped_column(Enum(EmailStatus, name="email_status"))
    message_id: Mapped[str | None] = mapped_column(unique=True)  # RFC Message-ID, with <>
    in_reply_to: Mapped[str | None]
    references: Mapped[str | None]
    error: Mapped[str | None]
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    claimed_at: Mapped[datetime | None]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # 0021_gmail: the mailbox an outbound e-mail leaves from (None: the system sender).
    email_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("email_accounts.id", ondelete="SET NULL"))

    thread: Mapped[EmailThread] = relationship(back_populates="messages")


class SmsGateway(db.Model):
    """An Android-phone SMS gateway; the password is stored encrypted."""

    __tablename__ = "sms_gateways"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    label: Mapped[str]
    gateway_url: Mapped[str]
    username: Mapped[str]
    password_encrypted: Mapped[str]
    from_number: Mapped[str]
    from_number_e164: Mapped[str] = mapped_column(index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    last_seen_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<SmsGateway {self.label!r} {self.from_number_e164}>"


class SmsMessage(db.Model):
    __tablename__ = "sms_messages"
    __table_args__ = (
        Index("ix_sms_messages_conversation_id", "conversation_id", "created_at"),
        Index("ix_sms_messages_from_number", "from_number"),
        Index("ix_sms_messages_lead_thread", "lead_id", desc("created_at"), desc("id")),  # 0023: the panel
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    direction: Mapped[MessageDirection] = mapped_column(_direction_enum())
    from_number: Mapped[str]
    to_number: Mapped[str]
    body: Mapped[str]
    provider: Mapped[str] = mapped_column(
        server_default=text("'android_gateway'"), default="android_gateway"
    )
    provider_message_id: Mapped[str | None]
    status: Mapped[SmsStatus] = mapped_column(
        Enum(SmsStatus, name="sms_status"),
        server_default=SmsStatus.QUEUED.value,
        default=SmsStatus.QUEUED,
    )
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    # Not in the spec (0015_inbox_sms): see app/inbox/sms/.
    gateway_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sms_gateways.id", ondelete="SET NULL"))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"))
    error: Mapped[str | None]
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    claimed_at: Mapped[datetime | None]
    inbound_key: Mapped[str | None] = mapped_column(unique=True)

    lead: Mapped[Lead | None] = relationship(back_populates="sms_messages")
    contact: Mapped[Contact | None] = relationship(back_populates="sms_messages")


class CallLog(db.Model):
    __tablename__ = "call_logs"
    # "called in the last hour?" for the dialer (0018)
    __table_args__ = (Index(None, "lead_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    direction: Mapped[MessageDirection] = mapped_column(_direction_enum())
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[CallOutcome] = mapped_column(Enum(CallOutcome, name="call_outcome"))
    notes: Mapped[str | None]
    recording_url: Mapped[str | None]
    transcript: Mapped[str | None]
    voicemail_dropped: Mapped[bool] = mapped_column(
        Boolean, server_default=sql_bool(False), default=False
    )
    provider: Mapped[str] = mapped_column(server_default=text("'manual'"), default="manual")
    created_at: Mapped[datetime] = created_at()
    # Not in the spec (0018): the rep who made or logged the call.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    lead: Mapped[Lead | None] = relationship(back_populates="call_logs")
    contact: Mapped[Contact | None] = relationship(back_populates="call_logs")


class Conversation(db.Model):
    """A unified-inbox thread: one per lead per channel."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("lead_id", "channel"),
        Index("ix_conversations_last_message_at", desc("last_message_at")),
        # the nav's unread badge (migration 0019_inbox_queue)
        Index("ix_conversations_unread", "user_id",
              postgresql_where=text("unread_count > 0 AND NOT is_archived")),
        # one Unmatched conversation per unknown number / address and channel (0022_inbox_items)
        Index("uq_conversations_unmatched_address", "channel", "unmatched_address", unique=True,
              postgresql_where=text("lead_id IS NULL AND unmatched_address IS NOT NULL")),
        # the queue's keyset order on either side of is_archived, and its tabs and filters
        # that keep few rows (0023_inbox_indexes)
        Index("ix_conversations_queue", "is_archived", desc("last_message_at"), desc("id")),
        *(Index(name, "is_archived", desc("last_message_at"), desc("id"), postgresql_where=text(where))
          for name, where in (("ix_conversations_needs_reply", "awaiting_reply AND done_at IS NULL"),
                              ("ix_conversations_snoozed", "snoozed_until IS NOT NULL"),
                              ("ix_conversations_unmatched", "lead_id IS NULL"),
                              ("ix_conversations_unread_queue", "unread_count > 0"))),
        # a rep's "Needs reply" on the home: counted index-only, oldest first (0035)
        Index("ix_conversations_rep_needs_reply", "user_id", "last_message_at", postgresql_include=["snoozed_until"],
              postgresql_where=text("awaiting_reply AND done_at IS NULL AND NOT is_archived")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[ConversationChannel] = mapped_column(
        Enum(ConversationChannel, name="conversation_channel")
    )
    last_message_at: Mapped[datetime | None]
    last_message_preview: Mapped[str | None]
    unread_count: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    is_archived: Mapped[bool] = mapped_column(
        Boolean, index=True, server_default=sql_bool(False), default=False
    )
    # the inbox queue (migration 0019_inbox_queue): an inbound message not answered yet,
    # marked done by a rep, hidden until a time
    awaiting_reply: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(False), default=False)
    done_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    # 0022_inbox_items: what the last item is (ConversationKind: the queue's label and icon),
    # and an Unmatched conversation's unknown number (E.164) or e-mail address (normalised)
    last_kind: Mapped[str | None]
    unmatched_address: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    lead: Mapped[Lead | None] = relationship(back_populates="conversations")
    contact: Mapped[Contact | None] = relationship(back_populates="conversations")
    user: Mapped[User | None] = relationship()


class Booking(db.Model):
    """A meeting synced from Cal.com (raw webhook payload kept in `raw_payload`)."""

    __tablename__ = "bookings"
    __table_args__ = (Index(None, "lead_id", "start_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    cal_booking_uid: Mapped[str] = mapped_column(unique=True)
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    attendee_email: Mapped[str] = mapped_column(index=True)
    attendee_name: Mapped[str | None]
    event_type_slug: Mapped[str]
    event_type_title: Mapped[str]
    start_at: Mapped[datetime] = mapped_column(index=True)
    end_at: Mapped[datetime]
    status: Mapped[BookingStatus] = mapped_column(
        Enum(BookingStatus, name="booking_status"),
        server_default=BookingStatus.SCHEDULED.value,
        default=BookingStatus.SCHEDULED,
    )
    meeting_url: Mapped[str | None]
    reschedule_url: Mapped[str | None]
    cancel_url: Mapped[str | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None]
    raw_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    lead: Mapped[Lead | None] = relationship(back_populates="bookings")
    contact: Mapped[Contact | None] = relationship(back_populates="bookings")


class CallList(db.Model):
    """A saved power-dialer list: a snapshot of lead ids (not foreign keys)."""

    __tablename__ = "call_lists"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str]
    filter_criteria: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    lead_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid()), server_default=text("'{}'"), default=list
    )
    # Index into lead_ids of the next lead to call.
    position: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    # Not in the spec (0018): the list's owner.
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()


class VoicemailDrop(db.Model):
    """A pre-recorded voicemail clip for the power dialer."""

    __tablename__ = "voicemail_drops"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str]
    audio_url: Mapped[str]
    duration_seconds: Mapped[int] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(False), default=False)
    created_at: Mapped[datetime] = created_at()
    # Not in the spec (0018): the audio file's name in VOICEMAIL_DIR.
    file_name: Mapped[str | None]


class MessageTemplate(db.Model):
    """A reusable email/SMS body: sequence content or a canned quick-reply."""

    __tablename__ = "message_templates"
    __table_args__ = (Index(None, "category", "channel", "is_active"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str]
    slug: Mapped[str] = mapped_column(unique=True)
    channel: Mapped[TemplateChannel] = mapped_column(Enum(TemplateChannel, name="template_channel"))
    category: Mapped[TemplateCategory] = mapped_column(
        Enum(TemplateCategory, name="template_category"),
        server_default=TemplateCategory.SEQUENCE.value,
        default=TemplateCategory.SEQUENCE,
    )
    subject: Mapped[str | None]
    body: Mapped[str]
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<MessageTemplate {self.slug} {self.channel.value if self.channel else None}>"


__all__ = [
    "Booking",
    "BookingStatus",
    "CallList",
    "CallLog",
    "CallOutcome",
    "Conversation",
    "ConversationChannel",
    "EmailAccount",
    "EmailMessage",
    "EmailStatus",
    "EmailThread",
    "MessageDirection",
    "MessageTemplate",
    "SmsGateway",
    "SmsMessage",
    "SmsStatus",
    "TemplateCategory",
    "TemplateChannel",
    "VoicemailDrop",
]
