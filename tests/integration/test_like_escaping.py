"""User text in a LIKE pattern matches literally (app.db.escape_like, the one way): `_`, `%`
and `\\` are characters a name or a code may hold, not wildcards."""
from __future__ import annotations

import uuid

import pytest

from app.auth.models import UserRole
from app.crm.pipeline import board
from app.db import escape_like
from app.fulfillment.models import Device
from tests.factories import login


@pytest.mark.parametrize("text,pattern", [("A_B", "A\\_B"), ("100%", "100\\%"), ("C:\\x", "C:\\\\x"),
                                          ("plain", "plain")])
def test_escape_like(text, pattern):
    assert escape_like(text) == pattern


def test_the_board_filter_matches_wildcards_literally(db_session, factory):
    tag = uuid.uuid4().hex[:6]
    literal = factory.lead(company=factory.company(name=f"Q{tag}_%\\ Towing"))
    other = factory.lead(company=factory.company(name=f"Q{tag}xx\\ Towing"))

    def ids(q):
        return {c.id for col in board.board(board.BoardFilters(q=q)) for c in col.cards}

    assert ids(f"Q{tag}_%\\") == {literal.id}
    assert ids(f"Q{tag}__") == set()
    assert ids(f"Q{tag}") == {literal.id, other.id}


def test_the_inventory_search_matches_wildcards_literally(client, db_session, factory):
    tag = uuid.uuid4().hex[:6].upper()
    db_session.add_all([Device(serial_number=f"GL-{tag}_1"), Device(serial_number=f"GL-{tag}X1")])
    db_session.flush()
    login(client, factory.user(UserRole.ADMIN))
    html = client.get(f"/warehouse/inventory?kind=devices&q=GL-{tag}_1").get_data(as_text=True)
    assert f"GL-{tag}_1" in html and f"GL-{tag}X1" not in html
