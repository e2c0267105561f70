import pytest

from app.fulfillment.codes import (
    clean,
    iccid_problem,
    imei_problem,
    kind_of,
    luhn_check_digit,
    luhn_valid,
    tracking_problem,
)


def test_luhn():
    assert luhn_valid("490154203237518")  # a well-known valid IMEI
    assert not luhn_valid("490154203237519")
    assert luhn_check_digit("49015420323751") == "8"


@pytest.mark.parametrize("value,ok", [("490154203237518", True), ("490154203237519", False),
                                      ("49015420323751", False), ("49015420323751X", False)])
def test_imei(value, ok):
    assert (imei_problem(value) is None) is ok


def test_iccid():
    base = "890141032111185107"
    good = base + luhn_check_digit(base)  # 19 digits
    assert iccid_problem(good) is None
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert "check digit" in iccid_problem(bad)
    assert "19 or 20" in iccid_problem("8901")


def test_tracking_and_kinds():
    assert tracking_problem("UPS", "1Z999AA10123456784") is None
    assert tracking_problem("ups", "1z 999 aa1 0123456784") is None
    assert tracking_problem("UPS", "1Z999") is not None
    assert tracking_problem("FedEx", "123456789012") is None
    assert tracking_problem("Pigeon", "x") is not None
    assert kind_of(clean("490154203237518\n")) == "imei"
    assert kind_of("89014103211118510720") == "iccid"
    assert kind_of("GL300-2611-000123") == "serial"
    assert kind_of("*PACK*") == "pack"
