"""Application settings: a key/value store with JSON values."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import updated_at, uuid_pk
from app.extensions import db


class Setting(db.Model):
    """One setting per key; `value` is any JSON (object, array, string, number, bool).

    No created_at (per the spec), only updated_at.
    """

    __tablename__ = "settings"

    id: Mapped[uuid.UUID] = uuid_pk()
    key: Mapped[str] = mapped_column(unique=True)
    value: Mapped[Any] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = updated_at()

    def __repr__(self) -> str:
        return f"<Setting {self.key}>"


__all__ = ["Setting"]
