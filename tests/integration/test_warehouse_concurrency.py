"""Two packers scan the same device into two orders at the same moment: one gets it.

Real concurrent requests, each with its own database connection, committed for real
(the rollback-per-test session cannot host them). Either guard of `packing` alone (the
device row lock in `inventory.find_device(lock=True)`, or the conditional
`UPDATE ... WHERE status = 'IN_STOCK'`) keeps the device in one order; without both,
both requests read IN_STOCK before either commits and the device ends in two orders.
"""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app.auth.models import UserRole
from tests.conftest import committing_app
from tests.factories import csrf_token, login

ROUNDS = 8  # each round: a fresh device, two fresh orders, two requests released together


@pytest.fixture(scope="module")
def packing_app(databases, redis_url):
    with committing_app(databases, redis_url, "crm_packing_race") as app:
        yield app


def test_two_packers_racing_for_one_device_put_it_into_one_order(packing_app):
    from app.extensions import db
    from app.fulfillment import packing
    from tests.factories import Factory
    from tests.integration.test_warehouse import invoice_with_devices, stock

    app = packing_app
    with app.app_context():
        factory = Factory(db.session)
        packers = [factory.user(UserRole.OPERATOR), factory.user(UserRole.OPERATOR)]
        rounds = []
        for _ in range(ROUNDS):
            orders = [packing.create_order_for_invoice(invoice_with_devices(db.session, factory), actor=packers[0])
                      for _ in packers]
            (device,) = stock(db.session, 1)
            rounds.append((device.id, device.imei, [order.id for order in orders]))
        db.session.commit()
        packer_ids = [p.id for p in packers]
        db.session.remove()

    clients = []
    for packer_id in packer_ids:
        client = app.test_client()
        with app.app_context():
            from app.auth.models import User

            login(client, db.session.get(User, packer_id))
            db.session.remove()
        clients.append((client, csrf_token(client, app)))

    statuses: dict[tuple[int, int], int] = {}
    errors: list[str] = []
    barrier = threading.Barrier(len(clients))

    def packer(n: int) -> None:
        client, token = clients[n]
        for r, (_, imei, order_ids) in enumerate(rounds):
            try:
                barrier.wait(timeout=60)
                response = client.post(f"/warehouse/orders/{order_ids[n]}/scan",
                                       data={"code": imei, "csrf_token": token}, headers={"HX-Request": "true"})
                statuses[r, n] = response.status_code
            except Exception as exc:  # noqa: BLE001 - reported below, with the round
                errors.append(f"round {r}, packer {n}: {exc!r}")
                barrier.abort()
                return

    threads = [threading.Thread(target=packer, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a packer is stuck"
    assert not errors, errors

    with app.app_context():
        for r, (device_id, _, order_ids) in enumerate(rounds):
            # one request added it, the other was told (422), in every round
            assert sorted(statuses[r, n] for n in range(len(clients))) == [200, 422], (r, statuses)
            in_orders = db.session.execute(sa.text(
                "SELECT fulfillment_order_id FROM fulfillment_items WHERE device_id = :d"), {"d": device_id}).all()
            assert len(in_orders) == 1, f"round {r}: the device is in {len(in_orders)} orders"
            assert in_orders[0][0] == order_ids[[statuses[r, n] for n in range(len(clients))].index(200)]
            status = db.session.scalar(sa.text("SELECT status::text FROM devices WHERE id = :d"), {"d": device_id})
            assert status == "ASSIGNED"
