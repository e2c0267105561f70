"""What the scanner types: IMEIs, ICCIDs, serials, tracking numbers, command codes."""
from __future__ import annotations

import re
from urllib.parse import quote

IMEI = re.compile(r"^\d{15}$")
ICCID = re.compile(r"^\d{19,20}$")
# Scanned on the packing screen to finish without touching the mouse.
PACK_COMMANDS = {"*PACK*", "CMD-PACK", "PACKED"}
UNDO_COMMANDS = {"*UNDO*", "CMD-UNDO"}

# Carrier formats (the common ones; a mistyped digit usually breaks them).
TRACKING_FORMATS = {
    "UPS": re.compile(r"^1Z[0-9A-Z]{16}$"),
    "FEDEX": re.compile(r"^(\d{12}|\d{15}|\d{20}|\d{22})$"),
    "USPS": re.compile(r"^((94|93|92|95)\d{20}|\d{20}|[A-Z]{2}\d{9}US)$"),
    "DHL": re.compile(r"^\d{10}$"),
}


def clean(code: str | None) -> str:
    """Scanners and people add spaces or a trailing newline; numbers may come
    grouped with dashes. Serial numbers keep their dashes."""
    code = re.sub(r"\s", "", code or "").upper()
    digits = code.replace("-", "")
    return digits if digits.isdigit() else code


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    for d in "0123456789":
        if luhn_valid(partial + d):
            return d
    raise ValueError(partial)


def imei_problem(value: str) -> str | None:
    if not IMEI.match(value):
        return "an IMEI has 15 digits"
    if not luhn_valid(value):
        return "the IMEI's check digit is wrong (mistyped or misread)"
    return None


def iccid_problem(value: str) -> str | None:
    if not ICCID.match(value):
        return "an ICCID has 19 or 20 digits"
    if not luhn_valid(value):
        return "the ICCID's check digit is wrong (mistyped or misread)"
    return None


TRACKING_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={}",
    "FEDEX": "https://www.fedex.com/fedextrack/?trknbr={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "DHL": "https://www.dhl.com/us-en/home/tracking/tracking-express.html?submit=1&tracking-id={}",
}


def tracking_url(carrier: str | None, number: str | None) -> str | None:
    """The carrier's public tracking page for `number`, or None for an unknown carrier."""
    template = TRACKING_URLS.get((carrier or "").upper())
    if template is None or not number:
        return None
    return template.format(quote(clean(number), safe=""))


def tracking_problem(carrier: str, number: str) -> str | None:
    pattern = TRACKING_FORMATS.get((carrier or "").upper())
    if pattern is None:
        return f"unknown carrier “{carrier}”"
    if not pattern.match(clean(number)):
        return f"“{number}” is not a {carrier.upper()} tracking number"
    return None


def kind_of(code: str) -> str:
    """How to read a scan: command, iccid, imei or serial."""
    if code in PACK_COMMANDS:
        return "pack"
    if code in UNDO_COMMANDS:
        return "undo"
    if code.isdigit() and len(code) in (19, 20):
        return "iccid"
    if code.isdigit() and len(code) == 15:
        return "imei"
    return "serial"
