"""Reading an intake form (fulfillment.inventory.intake_rows): a CSV with a header row, or codes
scanned one per line."""
from __future__ import annotations

import pytest

from app.fulfillment.inventory import MAX_INTAKE_BYTES, InventoryError, intake_rows


def test_a_csv_with_a_header_row():
    data = "\ufeffSerial_Number , IMEI\nGL-1 , 862804051234567\n".encode()
    assert intake_rows("devices", csv_data=data) == [{"serial_number": "GL-1", "imei": "862804051234567"}]
    assert intake_rows("sims", csv_data=b"iccid\n8901410321234567890\n") == [{"iccid": "8901410321234567890"}]


@pytest.mark.parametrize("kind,data,message", [
    ("devices", b"name\nx\n", "imei or serial_number"),
    ("sims", b"imei\nx\n", "named iccid"),
    ("devices", "serial_number\nGL\n".encode("utf-16"), "not UTF-8"),
    ("devices", b"x" * (MAX_INTAKE_BYTES + 1), "larger than 2 MB"),
])
def test_a_csv_that_cannot_be_read_says_why(kind, data, message):
    with pytest.raises(InventoryError, match=message):
        intake_rows(kind, csv_data=data)


def test_scanned_codes_one_per_line():
    assert intake_rows("devices", scanned=" 8628 0405 1234 567\n\nGL300-AB12\n") == [
        {"imei": "8628 0405 1234 567", "serial_number": "8628 0405 1234 567"}, {"serial_number": "GL300-AB12"}]
    assert intake_rows("sims", scanned="8901\r\n") == [{"iccid": "8901"}]
