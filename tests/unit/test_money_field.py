"""The shared form fields (app.forms): money, exact decimals, phone numbers, websites."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import Form, StringField
from wtforms.validators import Optional

from app.forms import (
    ExactDecimalField,
    InputRefused,
    MoneyField,
    WebsiteField,
    normalize_website,
    parse_money,
    phone_number,
)


class PriceForm(Form):
    price = MoneyField("Price", validators=[Optional()])
    refund = MoneyField("Refund", validators=[Optional()], allow_negative=True)
    required_price = MoneyField("Required", required=True, required_message="Enter a price.")
    rate = ExactDecimalField("Rate", places=5, minimum=Decimal(0), maximum=Decimal("0.99999"), example="0.08250",
                             validators=[Optional()])


def submit(**values) -> PriceForm:
    form = PriceForm(formdata=MultiDict({"required_price": "1", **values}))
    form.validate()
    return form


@pytest.mark.parametrize("raw, expected", [
    ("125", Decimal("125.00")), ("125.5", Decimal("125.50")), ("0.99", Decimal("0.99")), (".5", Decimal("0.50")),
    ("1,250.00", Decimal("1250.00")), ("$79", Decimal("79.00")), ("  42.10 ", Decimal("42.10")),
    ("1.500", Decimal("1.50")), ("-0", Decimal("0.00")), ("-0.00", Decimal("0.00")), ("0", Decimal("0.00")),
    ("99999999.99", Decimal("99999999.99")), ("00012", Decimal("12.00")),
])
def test_money_as_people_type_it(raw, expected):
    value = parse_money(raw)
    assert value == expected and str(value) == str(expected)  # exactly two places, never "-0.00"


@pytest.mark.parametrize("raw, message", [
    ("1e400", "as a number"), ("1E2", "as a number"), ("Infinity", "as a number"), ("-Infinity", "as a number"),
    ("NaN", "as a number"), ("sNaN", "as a number"), ("abc", "as a number"), (".", "as a number"),
    ("1,2", "as a number"), ("12 34", "as a number"), ("٣", "as a number"), ("0x10", "as a number"),
    ("--5", "as a number"), ("1.2.3", "as a number"),
    ("9" * 40, "up to $99,999,999.99"), ("100000000", "up to $99,999,999.99"),
    ("1.005", "whole cents"), ("0.001", "whole cents"),
    ("-1", "$0.00 or more"), ("-0.01", "$0.00 or more"),
])
def test_money_refused_with_a_message(raw, message):
    with pytest.raises(InputRefused, match=message.replace("$", r"\$").replace(".", r"\.")):
        parse_money(raw)


def test_negative_money_only_where_allowed():
    assert parse_money("-5.25", allow_negative=True) == Decimal("-5.25")
    with pytest.raises(InputRefused, match="up to"):
        parse_money("-100000000", allow_negative=True)


def test_blank_money_is_none():
    assert parse_money("") is None and parse_money("   ") is None


@given(st.text(max_size=50))
def test_any_text_is_an_amount_that_fits_numeric_10_2_or_a_message(raw):
    try:
        value = parse_money(raw, allow_negative=True)
    except InputRefused as exc:
        assert str(exc)
        return
    if value is not None:
        assert value.is_finite() and abs(value) < Decimal("1e8") and value == value.quantize(Decimal("0.01"))


@pytest.mark.parametrize("raw", ["1e400", "Infinity", "NaN", "sNaN", "9" * 40, "1.005", "-1", "x" * 10_000])
def test_the_money_field_refuses_with_one_message_and_no_value(raw):
    form = submit(price=raw)
    assert form.price.data is None
    assert len(form.price.errors) == 1 and form.price.errors[0]


def test_the_money_field_keeps_what_was_typed_on_the_page():
    form = submit(price="12,5x")
    assert form.price._value() == "12,5x"
    assert PriceForm(data={"price": Decimal("12.5")}).price._value() == "12.50"


def test_the_money_field_blank_and_required():
    assert submit(price="  ").validate() is True
    form = PriceForm(formdata=MultiDict({"required_price": "  "}))
    assert not form.validate() and form.required_price.errors == ["Enter a price."]
    assert submit(required_price="0").required_price.data == Decimal("0.00")  # zero is not "missing"


def test_a_negative_amount_in_a_field_that_allows_it():
    form = submit(refund="-12.50", price="-12.50")
    assert form.refund.data == Decimal("-12.50") and not form.refund.errors
    assert form.price.errors == ["Enter an amount of $0.00 or more."]


@pytest.mark.parametrize("raw, ok", [("0.08250", True), ("0", True), ("0.99999", True), ("1", False),
                                     ("0.000001", False), ("-0.01", False), ("sNaN", False), ("1e400", False)])
def test_an_exact_decimal_for_a_tax_rate(raw, ok):
    form = submit(rate=raw)
    assert (not form.rate.errors) is ok
    if ok:
        assert form.rate.data == Decimal(raw)


# ------------------------------------------------------------------ websites and phones

@pytest.mark.parametrize("raw, expected", [
    ("example.com", "https://example.com"), ("www.example.com/about", "https://www.example.com/about"),
    ("https://example.com", "https://example.com"), ("HTTP://Example.com/x?y=1", "HTTP://Example.com/x?y=1"),
    ("abc-towing.co.uk", "https://abc-towing.co.uk"), ("example.com:8080", "https://example.com:8080"),
    ("bücher.de", "https://bücher.de"), ("", None), ("   ", None),
])
def test_a_website_with_or_without_its_scheme(raw, expected):
    assert normalize_website(raw) == expected


@pytest.mark.parametrize("raw", ["not a url", "example", "javascript:alert(1)", "ftp://example.com",
                                 "mailto:a@example.com", "http://", "https://exa mple.com", "-bad-.com",
                                 "example.c", "https://example.com:port", "<script>.com", "localhost:3000"])
def test_what_is_not_a_website(raw):
    with pytest.raises(InputRefused, match="web address"):
        normalize_website(raw)


class ContactForm(Form):
    website = WebsiteField("Website", validators=[Optional()])
    phone = StringField("Phone", validators=[Optional(), phone_number])


@pytest.mark.parametrize("phone, ok", [("(408) 555-0123", True), ("(415) 867-5309", True), ("4158675309", True), ("+44 20 7946 0018", True),
                                       ("call me maybe", False), ("123", False), ("", True)])
def test_phone_numbers(phone, ok):
    form = ContactForm(formdata=MultiDict({"phone": phone}))
    assert form.validate() is ok


def test_the_website_field_stores_the_normalised_address():
    form = ContactForm(formdata=MultiDict({"website": " example.com "}))
    assert form.validate() and form.website.data == "https://example.com"
    refused = ContactForm(formdata=MultiDict({"website": "not a url"}))
    assert not refused.validate() and "web address" in refused.website.errors[0]
