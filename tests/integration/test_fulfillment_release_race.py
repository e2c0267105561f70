"""One open fulfillment order per invoice, also when two releases happen at once.

`create_order_for_invoice` checks for an order and then inserts one: two reps releasing
the same invoice at the same moment (or a release and a payment) would both find none.
It takes the invoice's row lock before the check, and a partial unique index refuses a
second order that is not canceled.
"""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.auth.models import UserRole
from app.fulfillment.models import FulfillmentOrder, FulfillmentStatus
from tests.conftest import committing_app
from tests.integration.test_warehouse import invoice_with_devices


@pytest.fixture(scope="module")
def release_app(databases, redis_url):
    with committing_app(databases, redis_url, "fulfillment_release_race") as app:
        yield app


def test_a_second_open_order_for_one_invoice_is_refused_by_the_database(db_session, factory):
    invoice = invoice_with_devices(db_session, factory, units=1)
    first = FulfillmentOrder(invoice_id=invoice.id, company_id=invoice.company_id, device_count=1,
                             status=FulfillmentStatus.CANCELED)
    second = FulfillmentOrder(invoice_id=invoice.id, company_id=invoice.company_id, device_count=1)
    db_session.add_all([first, second])
    db_session.flush()  # a canceled one and an open one may live together
    with pytest.raises(IntegrityError, match="uq_fulfillment_orders_invoice_id_open"):
        with db_session.begin_nested():
            db_session.add(FulfillmentOrder(invoice_id=invoice.id, company_id=invoice.company_id,
                                            device_count=1, status=FulfillmentStatus.SHIPPED))


def test_two_releases_at_once_make_one_order(release_app):
    """Release A holds its transaction open; release B, on its own connection, must wait
    for it and then find A's order (without the lock B inserts a second order, or with
    the index alone fails on it)."""
    from app.auth.models import User
    from app.billing.models import Invoice
    from app.extensions import db
    from app.fulfillment import packing
    from tests.factories import Factory

    app = release_app
    with app.app_context():
        factory = Factory(db.session)
        rep = factory.user(UserRole.REP)
        invoice = invoice_with_devices(db.session, factory, units=2)
        db.session.commit()
        rep_id, invoice_id = rep.id, invoice.id
        db.session.remove()

    a_released, a_may_commit = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def release(name, before_commit=None):
        with app.app_context():
            try:
                order = packing.create_order_for_invoice(
                    db.session.get(Invoice, invoice_id), actor=db.session.get(User, rep_id),
                    released_by_hand=True, reason=f"release {name}")
                if before_commit:
                    before_commit()
                db.session.commit()
                results[name] = order.id
            except Exception as exc:
                results[name] = exc
            finally:
                db.session.remove()

    def hold():
        a_released.set()
        assert a_may_commit.wait(60)

    a = threading.Thread(target=release, args=("a", hold))
    a.start()
    assert a_released.wait(60)
    b = threading.Thread(target=release, args=("b",))
    b.start()
    b.join(timeout=2)
    assert b.is_alive(), f"release B did not wait for A: {results.get('b')!r}"
    a_may_commit.set()
    a.join(timeout=60)
    b.join(timeout=60)
    assert not a.is_alive() and not b.is_alive()
    assert not isinstance(results["a"], Exception), results["a"]
    assert results["b"] == results["a"], results["b"]
    with app.app_context():
        orders = db.session.execute(sa.select(FulfillmentOrder.id).where(
            FulfillmentOrder.invoice_id == invoice_id)).scalars().all()
        assert orders == [results["a"]]
        db.session.remove()
