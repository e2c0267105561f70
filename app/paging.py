"""Keyset pages: the one way a list pages (no OFFSET) and the one cursor format.

A list is ordered by (a sort value, the row's id), both descending or both ascending; the
next page starts after the last row shown. Its cursor is that row's (value, id) as
URL-safe base64 of a JSON pair, opaque to the page: `Keyset.cursor(value, id)` writes it,
`Keyset.after(cursor)` reads it back into the WHERE that continues the list. A cursor that
does not read (edited by hand, from another sort) starts the list from the top.

    keyset = Keyset(Invoice.created_at, Invoice.id, descending=True, kind=datetime)
    query = keyset.continue_after(query, cursor).order_by(*keyset.order_by()).limit(limit + 1)
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, bindparam, or_

_READERS = {datetime: datetime.fromisoformat, Decimal: Decimal, int: int, str: str}


@dataclass(frozen=True)
class Keyset:
    """A list's order: `column` (a column or expression, never NULL for a listed row) then
    `id_column`, with the Python type of the column's values (datetime, Decimal, int, str)."""

    column: object
    id_column: object
    descending: bool
    kind: type

    def order_by(self) -> tuple:
        if self.descending:
            return self.column.desc(), self.id_column.desc()
        return self.column.asc(), self.id_column.asc()

    def cursor(self, value, row_id) -> str:
        """The cursor of a page that ends at the row (value, row_id)."""
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        raw = json.dumps([text, str(row_id)], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def position(self, cursor: str | None) -> tuple[object, uuid.UUID] | None:
        """The (value, id) a cursor names, or None when there is none or it does not read."""
        if not cursor:
            return None
        try:
            text, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if not isinstance(text, str) or not isinstance(row_id, str):
                return None
            value = _READERS[self.kind](text)
            if isinstance(value, Decimal) and not value.is_finite():
                return None
            return value, uuid.UUID(row_id)
        except (ValueError, TypeError, InvalidOperation, binascii.Error, UnicodeDecodeError):
            return None

    def after(self, cursor: str | None):
        """The WHERE clause of the rows after the cursor's, or None."""
        position = self.position(cursor)
        if position is None:
            return None
        value, row_id = position
        # The redundant first bound is an index range: without it PostgreSQL reads every row
        # of the earlier pages again (the OR is only a filter), page 40 of a list 2,000 rows.
        if self.descending:
            return and_(self.column <= value,
                        or_(self.column < value, and_(self.column == value, self.id_column < row_id)))
        return and_(self.column >= value,
                    or_(self.column > value, and_(self.column == value, self.id_column > row_id)))

    def after_bound(self):
        """`after`'s WHERE clause with the position as bound parameters (`after_value`,
        `after_id`: `bound_position` gives their values), for a statement built once."""
        value = bindparam("after_value", type_=self.column.type)
        row_id = bindparam("after_id", type_=self.id_column.type)
        if self.descending:
            return and_(self.column <= value,
                        or_(self.column < value, and_(self.column == value, self.id_column < row_id)))
        return and_(self.column >= value,
                    or_(self.column > value, and_(self.column == value, self.id_column > row_id)))

    def bound_position(self, cursor: str | None) -> dict | None:
        """The values of `after_bound`'s parameters for a cursor, or None (no cursor, or one
        that does not read: the list starts from the top)."""
        position = self.position(cursor)
        return None if position is None else {"after_value": position[0], "after_id": position[1]}

    def continue_after(self, query, cursor: str | None):
        """`query` restricted to the rows after the cursor's (unchanged without one)."""
        clause = self.after(cursor)
        return query if clause is None else query.where(clause)


def split_page(rows, limit: int) -> tuple[list, bool]:
    """The first `limit` of `limit + 1` fetched rows, and whether there are more."""
    rows = list(rows)
    return rows[:limit], len(rows) > limit
