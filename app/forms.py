"""The form fields every domain shares: money, exact decimals, phone numbers, websites.

What a person types becomes a value here, or a message saying what to type instead:
never an exception further down (a `Decimal` that cannot be quantized, a NaN that
cannot be compared, a number PostgreSQL cannot store).

- `MoneyField`: a finite amount that fits `Numeric(10,2)` (|x| < 10^8, whole cents),
  negatives only where the form says so. `parse_money` is the same rule for the few
  places that read an amount without a WTForms form (the public checkout, a manual
  payment), so there is one definition of "an amount".
- `ExactDecimalField`: the same for other `Numeric` columns (a tax rate: 5 places, 0..1).
- `phone_number` / `website`: validators for the phone and website fields; a website
  typed without a scheme (`example.com`) is stored as `https://example.com`.

NUL bytes are not handled per field: `app.errors` refuses them for every form and query
string before any view runs.
"""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

from wtforms import DecimalField, StringField
from wtforms.validators import StopValidation, ValidationError

MONEY_PLACES = 2
MONEY_MAX = Decimal("99999999.99")  # Numeric(10,2)
ZERO = Decimal("0.00")

# A number as a person types it: ASCII digits, at most one point, an optional sign. Nothing
# else (no exponent, no "Infinity"/"NaN", no spaces inside), so that Decimal() only ever
# sees a bounded, finite string.
_NUMBER = re.compile(r"(?P<sign>[-+]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?")
# Thousands separators as written in the US: 1,250.00 or 12,345,678
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")


class InputRefused(ValueError):
    """What was typed is not a value of the field; the message says what to type."""


def parse_decimal(raw: str, *, places: int, minimum: Decimal, maximum: Decimal,
                  example: str, money: bool = False) -> Decimal | None:
    """The exact Decimal a person typed (None when blank), with `places` decimals,
    within [minimum, maximum]; or InputRefused with a message."""
    text = str(raw).strip()
    if not text:
        return None
    sign = ""
    if text[0] in "+-":
        sign, text = text[0], text[1:].lstrip()
    if money and text.startswith("$"):
        text = text[1:]
    whole, point, frac = text.partition(".")
    if money and _GROUPED.fullmatch(whole):
        whole = whole.replace(",", "")
    match = _NUMBER.fullmatch(sign + whole + point + frac)
    if not match or not (match["int"] or match["frac"]):
        raise InputRefused(f"Enter {'the amount' if money else 'a number'} as a number, e.g. {example}.")
    digits = match["int"].lstrip("0")
    decimals = (match["frac"] or "").rstrip("0")
    if len(decimals) > places:
        raise InputRefused("Amounts are in whole cents (at most 2 decimals)." if money and places == 2
                           else f"Use at most {places} decimals, e.g. {example}.")
    if len(digits) > len(str(int(max(abs(minimum), abs(maximum))))):
        raise InputRefused(_range_message(minimum, maximum, money, too_large=True))
    value = Decimal(f"{sign}{digits or '0'}.{decimals or '0'}").quantize(Decimal(1).scaleb(-places))
    if value == 0:
        value = abs(value)  # "-0" is zero
    if not (minimum <= value <= maximum):
        raise InputRefused(_range_message(minimum, maximum, money, too_large=abs(value) > maximum))
    return value


def _range_message(minimum: Decimal, maximum: Decimal, money: bool, too_large: bool) -> str:
    if not money:
        return f"Enter a number from {minimum} to {maximum}."
    if too_large:
        return f"Enter an amount up to ${maximum:,.2f}."
    return f"Enter an amount of ${minimum:,.2f} or more."


def parse_money(raw, *, allow_negative: bool = False) -> Decimal | None:
    """An amount of money as typed ("1,250.00", "$79", "-5" where negatives are allowed):
    a Decimal with 2 places that fits Numeric(10,2), None when blank."""
    return parse_decimal(raw, places=MONEY_PLACES, minimum=-MONEY_MAX if allow_negative else ZERO,
                         maximum=MONEY_MAX, example="125.00", money=True)


class ExactDecimalField(DecimalField):
    """A decimal for a Numeric column: finite, at most `places` decimals, within
    [minimum, maximum]. Blank is None; `required` refuses blank with `required_message`."""

    def __init__(self, label=None, validators=None, *, places: int, minimum: Decimal, maximum: Decimal,
                 example: str, required: bool = False, required_message: str = "Enter a number.",
                 money: bool = False, **kwargs):
        super().__init__(label, validators, places=places, **kwargs)
        self.minimum, self.maximum, self.example = Decimal(minimum), Decimal(maximum), example
        self.required, self.required_message, self.money = required, required_message, money
        if required:
            self.flags.required = True

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = None  # a refused value must not leave the default in place
        self.data = parse_decimal(valuelist[0], places=self.places, minimum=self.minimum,
                                  maximum=self.maximum, example=self.example, money=self.money)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the message of process_formdata is the one to show
        if self.data is None and self.required:
            raise StopValidation(self.required_message)


class MoneyField(ExactDecimalField):
    """An amount of money (see `parse_money`). Negative only with `allow_negative`."""

    def __init__(self, label=None, validators=None, *, allow_negative: bool = False, required: bool = False,
                 required_message: str = "Enter an amount.", **kwargs):
        super().__init__(label, validators, places=MONEY_PLACES, minimum=-MONEY_MAX if allow_negative else ZERO,
                         maximum=MONEY_MAX, example="125.00", required=required,
                         required_message=required_message, money=True, **kwargs)


# ------------------------------------------------------------------ phones and websites

def phone_number(form, field) -> None:
    """A phone number libphonenumber accepts (US when no country code is typed). The stored
    format stays the services' (as typed in `phone`, E.164 in `contacts.phone_e164`): this
    only refuses what `phone_to_e164`, the one definition of a valid number, refuses."""
    from app.crm.records.normalize import phone_to_e164  # here: app.crm imports these forms

    raw = (field.data or "").strip()
    if raw and phone_to_e164(raw)[0] is None:
        raise ValidationError("Enter a valid phone number, e.g. (408) 555-0123 or +44 20 7946 0018.")


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_TLD = re.compile(r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")


def normalize_website(raw: str | None) -> str | None:
    """`https://example.com/...` for a website as typed (a bare `example.com` gets
    https://); None when blank; InputRefused when it is not a web address."""
    text = (raw or "").strip()
    if not text:
        return None
    refused = InputRefused("Enter a web address, e.g. example.com or https://example.com/about.")
    if not re.match(r"(?i)https?://", text):
        if "://" in text or re.match(r"(?i)[a-z][a-z0-9+.-]*:(?!\d)", text):
            raise refused  # another scheme (ftp:, javascript:, mailto:)
        text = "https://" + text
    if any(ch.isspace() for ch in text):
        raise refused
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError as exc:
        raise refused from exc
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise refused from exc
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or not _TLD.fullmatch(labels[-1]):
        raise refused
    return text


class WebsiteField(StringField):
    """A website: stored as https://... (see `normalize_website`)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data = self.data.strip()

    def pre_validate(self, form):
        try:
            normalized = normalize_website(self.data)
        except InputRefused as exc:
            raise StopValidation(str(exc)) from exc
        self.data = normalized or ""
