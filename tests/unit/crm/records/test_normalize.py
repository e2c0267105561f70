"""Match keys: company names, e-mail addresses, phone numbers (pure functions)."""
from __future__ import annotations

import pytest

from app.crm.records.normalize import (
    normalize_company_name,
    normalize_email,
    normalize_us_state,
    phone_to_e164,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ABC Towing, LLC", "abc towing llc"),
        ("ABC Towing LLC", "A.B.C. Towing"),
        ("Peña Landscaping", "Pena Landscaping LLC"),
        ("Cool Breeze Heating & Air", "Cool Breeze Heating and Air"),
        ("Miller & Sons Plumbing", "Miller and Sons Plumbing Co."),
        ("Big John's Towing", "big johns towing"),
        ("  Acme   Fleet\tServices ", "ACME FLEET SERVICES"),
        ("Acme Co., Inc.", "acme"),
        ("Nguyễn Brothers Landscaping", "nguyen brothers landscaping"),
    ],
)
def test_company_names_that_are_the_same_business_match(a, b):
    assert normalize_company_name(a) == normalize_company_name(b)


def test_company_name_key_shape():
    assert normalize_company_name("ABC Towing, LLC") == "abc towing"
    assert normalize_company_name("Straße-Bau GmbH") == "strasse bau gmbh"
    # a suffix is only dropped at the end, and never down to nothing
    assert normalize_company_name("Co-op Hauling") == "co op hauling"
    assert normalize_company_name("Inc") == "inc"
    assert normalize_company_name("LLC Inc") == "llc"
    assert normalize_company_name("") == ""
    assert normalize_company_name(None) == ""
    assert normalize_company_name(" .,- ") == ""


def test_different_businesses_stay_different():
    assert normalize_company_name("Lone Star HVAC Services") != normalize_company_name(
        "Lonestar H.V.A.C. Services Inc")  # different spelling is not our call to merge
    assert normalize_company_name("ABC Towing") != normalize_company_name("ABC Towing East")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Mike.Delgado@ABCTowing.example.com ", "mike.delgado@abctowing.example.com"),
        ("LUIS@PENALANDSCAPING.EXAMPLE.NET", "luis@penalandscaping.example.net"),
        ("mailto:a@b.example.com", "a@b.example.com"),
        ("rgarza.mesaverdehauling.example.com", None),
        ("x@", None),
        ("@example.com", None),
        ("a@b", None),
        ("a b@example.com", None),
        ("a@@example.com", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["+1 214-555-0143", "(214) 555-0143", "214.555.0143", "2145550143", "+12145550143",
     "1-214-555-0143", "+1 (214) 555-0143", "214-555-0143 ext. 4"],
)
def test_us_phone_spellings_give_one_e164(raw):
    e164, phone_type, sms = phone_to_e164(raw)
    assert e164 == "+12145550143"
    # libphonenumber cannot tell US mobiles from landlines: unknown, but textable
    assert (phone_type, sms) == ("unknown", True)


def test_phone_types():
    assert phone_to_e164("+44 7911 123456") == ("+447911123456", "mobile", True)
    assert phone_to_e164("020 7946 0018", region="GB") == ("+442079460018", "landline", False)
    assert phone_to_e164("+1 800 555 0100") == ("+18005550100", "landline", False)
    assert phone_to_e164("+44 56 1234 5678")[1:] == ("voip", False)


@pytest.mark.parametrize("raw", [None, "", "  ", "12", "abc", "555-0143", "+1 000-000-0000"])
def test_invalid_phones(raw):
    assert phone_to_e164(raw) == (None, "unknown", False)


def test_us_state():
    assert normalize_us_state("Texas") == "TX"
    assert normalize_us_state(" tx ") == "TX"
    assert normalize_us_state("New Mexico") == "NM"
    assert normalize_us_state("Ontario") == "Ontario"
    assert normalize_us_state("") is None
