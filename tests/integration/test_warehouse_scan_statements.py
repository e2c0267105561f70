"""Issue 14: a packing scan reads the order once (locked, with what the screen shows) and answers
from what it has just read and written, in a constant few statements; the answer is what a
fresh read of the order shows."""
from __future__ import annotations

import re

from app.auth.models import UserRole
from app.fulfillment import packing
from tests.factories import csrf_token, login
from tests.integration.test_warehouse import invoice_with_devices, stock

SCAN_STATEMENTS = 10  # signed-in user, order (locked, items), its lines, last scan, device (locked),
# products, take the device, the item, the scan log; the first scan also moves the order to PICKING
# (before: 13 to 18)


def post_scan(client, app, order, code):
    return client.post(f"/warehouse/orders/{order.id}/scan", data={"code": code, "csrf_token": csrf_token(client, app)},
                       headers={"HX-Request": "true"})


def fresh_answer(app, db_session, order, message: str) -> str:
    """The packing screen's swapped part as a fresh read of the order shows it."""
    from app.fulfillment.views import _packing_page

    db_session.expire_all()
    with app.test_request_context(headers={"HX-Request": "true"}):
        return _packing_page(order.id, message=message, ok=True).get_data(as_text=True)


def without_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


def test_each_scan_answers_in_a_few_statements_what_a_fresh_read_shows(app, client, db_session, factory,
                                                                       count_statements):
    op = factory.user(UserRole.OPERATOR)
    order = packing.create_order_for_invoice(invoice_with_devices(db_session, factory, units=2), actor=op)
    first, second = stock(db_session, 2, paired=True)
    login(client, op)
    post_scan(client, app, order, "*UNDO*")  # warm-up: first-request work (answers "Nothing to undo")
    codes = [first.imei, first.sim_card.iccid, second.serial_number, "*UNDO*", second.imei, second.sim_card.iccid,
             "*UNDO*"]
    for code in codes:
        with count_statements() as counter:
            answer = post_scan(client, app, order, code)
        assert answer.status_code == 200, (code, answer.get_data(as_text=True))
        assert counter.count <= SCAN_STATEMENTS, code + "\n" + "\n".join(" ".join(s.split())[:90] for s in counter.statements)
        body = answer.get_data(as_text=True)
        message = re.search(r'<p class="pack__message is-ok" role="status">([^<]*)</p>', body).group(1)
        assert without_tokens(body) == without_tokens(fresh_answer(app, db_session, order, message)), code
    body = answer.get_data(as_text=True)
    assert "<strong>2</strong> of 2 devices" in body and second.serial_number in body


def test_undoing_a_new_pairing_answers_without_the_sim(app, client, db_session, factory):
    from app.fulfillment.models import SimCard
    from tests.integration.test_warehouse import iccid

    op = factory.user(UserRole.OPERATOR)
    order = packing.create_order_for_invoice(invoice_with_devices(db_session, factory, units=1), actor=op)
    (device,) = stock(db_session, 1)  # no SIM yet: the scan pairs one
    sim = SimCard(iccid=iccid())
    db_session.add(sim)
    db_session.flush()
    login(client, op)
    post_scan(client, app, order, device.imei)
    paired = post_scan(client, app, order, sim.iccid).get_data(as_text=True)
    assert "paired with" in paired and sim.iccid[-8:] in paired
    undone = post_scan(client, app, order, "*UNDO*").get_data(as_text=True)
    assert "Undid the SIM scan" in undone and sim.iccid[-6:] not in undone.split("role=\"status\">", 1)[1].split("</p>", 1)[1]
    assert without_tokens(undone) == without_tokens(fresh_answer(app, db_session, order, f"Undid the SIM scan …{sim.iccid[-6:]}."))
