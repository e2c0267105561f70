"""app.paging: one cursor format that reads back what it wrote, and refuses what it did not."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import column, literal_column, select

from app.paging import Keyset, split_page

ROW = uuid.UUID("6f1c3a52-3f7e-4e39-9c55-0a2d0f1d2e3b")


@pytest.mark.parametrize("kind,value", [
    (datetime, datetime(2026, 11, 27, 15, 4, 5, 123456, tzinfo=UTC)),
    (Decimal, Decimal("-1")),
    (Decimal, Decimal("2304.90")),
    (int, 17),
    (str, "Smith | Sons, \"Towing\" — Zoë"),
])
def test_a_cursor_reads_back_its_value_and_row(kind, value):
    keyset = Keyset(column("v"), column("id"), descending=True, kind=kind)
    cursor = keyset.cursor(value, ROW)
    assert cursor.isascii() and not set(cursor) & set("=+/&?#| ")  # safe in a query string as is
    assert keyset.position(cursor) == (value, ROW)


def _text_cursor(text: str) -> str:
    return Keyset(column("v"), column("id"), descending=True, kind=str).cursor(text, ROW)


@pytest.mark.parametrize("kind,cursor", [
    (datetime, None), (datetime, ""), (datetime, "not a cursor"),
    (datetime, "2026-11-27T00:00:00|" + str(ROW)),  # an old format
    (datetime, _text_cursor("abc")),  # another sort's cursor
    (Decimal, _text_cursor("NaN")), (Decimal, _text_cursor("Infinity")), (int, _text_cursor("1.5")),
    (int, "WzEsMl0"),  # [1,2]
])
def test_a_cursor_that_does_not_read_starts_from_the_top(kind, cursor):
    keyset = Keyset(column("v"), column("id"), descending=True, kind=kind)
    assert keyset.position(cursor) is None and keyset.after(cursor) is None
    query = select(literal_column("1"))
    assert keyset.continue_after(query, cursor) is query


def test_the_order_and_the_condition_go_the_same_way():
    down = Keyset(column("v"), column("id"), descending=True, kind=int)
    up = Keyset(column("v"), column("id"), descending=False, kind=int)
    assert [str(c) for c in down.order_by()] == ["v DESC", "id DESC"]
    assert [str(c) for c in up.order_by()] == ["v ASC", "id ASC"]
    # the first bound is redundant: an index range for the database (the OR is only a filter)
    assert str(down.after(down.cursor(5, ROW))) == "v <= :v_1 AND (v < :v_2 OR v = :v_3 AND id < :id_1)"
    assert str(up.after(up.cursor(5, ROW))) == "v >= :v_1 AND (v > :v_2 OR v = :v_3 AND id > :id_1)"


def test_split_page():
    assert split_page(range(3), 2) == ([0, 1], True)
    assert split_page(range(2), 2) == ([0, 1], False)
