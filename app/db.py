"""The declarative base every model inherits, and the column mixins of the spec.

Conventions (see ARCHITECTURE.md): UUID primary keys, `timestamptz` in UTC,
money as Numeric(10,2) / Decimal, JSON as JSONB, Prisma's `String` as `text`.
Spec defaults are server defaults so the database enforces them for every writer
(the app, the bench generator, psql).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, MetaData, Numeric, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(10, 2)


class Base(DeclarativeBase):
    # One registry carrying both the naming convention and the type map
    # (Flask-SQLAlchemy subclasses this base, which rules out a class-level map).
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            str: Text(),
            datetime: DateTime(timezone=True),
            date: Date(),
            Decimal: Money,
            dict[str, Any]: JSONB(),
            list[Any]: JSONB(),
            uuid.UUID: Uuid(),
        },
    )


def uuid_pk() -> Mapped[uuid.UUID]:
    """`id String @id @default(uuid())`: known in Python before flush, and defaulted in SQL."""
    return mapped_column(
        Uuid(), primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )


def created_at() -> Mapped[datetime]:
    return mapped_column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def updated_at() -> Mapped[datetime]:
    # Prisma's @updatedAt: set on every UPDATE through the ORM; defaulted on INSERT.
    return mapped_column(
        "updated_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=func.now(),
        onupdate=func.now(),
    )


def sql_bool(value: bool):
    return text("true") if value else text("false")


def escape_like(text: str) -> str:
    """`text` for a LIKE/ILIKE pattern, matched literally: its `\\`, `%` and `_` escaped with
    PostgreSQL's default escape character. The one way user text enters a pattern:
    `column.ilike(f"%{escape_like(q)}%")`."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def select_rows(statement, params: dict | None = None):
    """The rows of a statement of columns (no ORM entities: select(Lead.id, Company.name, ...)),
    run on the session's connection in its transaction, after its autoflush (what the ORM
    would do first). The ORM's execution path adds ~0.15 ms of CPU per statement and nothing a
    statement of columns needs: hot pages read this way."""
    from app.extensions import db

    session = db.session()
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params or {})


def fetch_all(query, params: dict | None = None) -> list:
    """What `query` selects: its objects when it selects one entity (select(Company)), else its
    rows (select(Company.id, Company.name, ...), through select_rows): a query built on either
    reads the same way."""
    from app.extensions import db

    if len(query.column_descriptions) == 1:
        return list(db.session.scalars(query, params))
    return list(select_rows(query, params))


READS = ("SELECT", "SET", "RESET", "SHOW")  # statements that change no data


def _note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    from flask import g, has_app_context

    if has_app_context() and not statement.lstrip()[:6].upper().startswith(READS):
        g.sql_wrote = True


def _committed(conn) -> None:
    from flask import g, has_app_context

    if has_app_context():
        g.pop("sql_wrote", None)


def commit_read_only_requests(app) -> None:
    """A request that only read ends its transaction with COMMIT instead of the session's
    ROLLBACK. For a transaction that wrote nothing the two are the same to PostgreSQL, but
    psycopg forgets every prepared statement on a rollback (and counts executions afresh), so
    ending each read with one meant no statement was ever prepared across requests: every
    page was planned again on every request (the board: ~1 ms of PostgreSQL's CPU a request;
    the lead page: 1.3 -> 0.3 ms of SQL). Anything else keeps the rollback: an error, a
    statement that is not a read since the last commit (INSERT, UPDATE, DELETE, a CTE, a
    savepoint...), or objects added or changed in the session and not flushed; and a session
    bound to a connection its caller began (the tests' rolled-back session) is left to it.

    Registered after Flask-SQLAlchemy's own teardown (db.init_app), so it runs before it."""
    from flask import g
    from sqlalchemy import event
    from sqlalchemy.engine import Connection, Engine

    from app.extensions import db

    if not event.contains(Engine, "before_cursor_execute", _note_writes):
        event.listen(Engine, "before_cursor_execute", _note_writes)
        event.listen(Engine, "commit", _committed)

    @app.teardown_appcontext
    def commit_if_read_only(exc):
        if exc is not None or g.get("sql_wrote") or not db.session.registry.has():
            return
        session = db.session()
        if isinstance(session.bind, Connection):
            return  # bound to a connection someone else began: they end its transaction
        if session.in_transaction() and not (session.new or session.dirty or session.deleted):
            # detached as they are, not expired: as the session's close() would leave them
            # (a caller may still read an object it loaded once the context is over)
            session.expunge_all()
            session.commit()
