"""Users: sign-in accounts and the actors things are attributed to."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Enum, ForeignKey, Integer, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import created_at, sql_bool, updated_at, uuid_pk
from app.extensions import db


class UserRole(enum.Enum):
    ADMIN = "ADMIN"
    REP = "REP"
    OPERATOR = "OPERATOR"
    NICK = "NICK"
    AI_AGENT = "AI_AGENT"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(unique=True)
    password_hash: Mapped[str]
    first_name: Mapped[str]
    last_name: Mapped[str]
    role: Mapped[UserRole] = mapped_column(
        Enum(UserRole, name="user_role"), server_default=UserRole.OPERATOR.value
    )
    phone: Mapped[str | None]
    # Overrides UserMixin.is_active: Flask-Login refuses inactive users.
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    invited_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Not in the spec: bumped to end every session of this user (sign out
    # everywhere, deactivation, password change). The session stores the value
    # it was issued under; a mismatch logs the session out.
    session_version: Mapped[int] = mapped_column(Integer, server_default=text("1"), default=1)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    invited_by: Mapped[User | None] = relationship(remote_side=[id])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def initials(self) -> str:
        return (self.first_name[:1] + self.last_name[:1]).upper()

    @property
    def has_password(self) -> bool:
        return not self.password_hash.startswith("!")

    def get_id(self) -> str:
        # The session carries the id and the session version: bumping the version
        # (deactivate, sign out everywhere) invalidates every issued session.
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"
