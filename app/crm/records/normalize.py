"""Match keys and channel identities: company names, e-mail addresses, phone numbers.

These are pure functions (no database, no Flask) shared by the CSV import and any
other writer of `companies.normalized_name`, `contacts.email_normalized` and
`contacts.phone_e164`: a dedupe key only works if every writer computes it the
same way.
"""
from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import PhoneNumberType

# Legal-form words dropped from the *end* of a name for matching only (the display
# name keeps them): "ABC Towing, LLC" and "ABC Towing" are the same business to a
# sales rep, and scrapes and e-mail tools disagree about whether to write the suffix.
# Dropped repeatedly ("Acme Co., Inc." -> "acme") but never down to an empty key.
LEGAL_SUFFIXES = frozenset({
    "llc", "inc", "incorporated", "co", "corp", "corporation", "company", "ltd",
    "limited", "lp", "llp", "pllc", "pc",
})

# Removed without a trace, so "A.B.C." -> "abc" and "Big John's" -> "big johns";
# every other punctuation mark separates words.
_JOINING = re.compile(r"[.'\u2019`]")
_SEPARATING = re.compile(r"[^\w\s]|_")

# Deliberately loose: one "@", something before it, and a dotted domain without
# spaces. Deliverability is the e-mail verifier's job, not the importer's.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_company_name(name: str | None) -> str:
    """The dedupe key of a company name.

    Accents folded to ASCII ("Peña" -> "pena"), case folded, "&" read as "and",
    dots and apostrophes removed, other punctuation turned into spaces,
    whitespace collapsed, and trailing legal suffixes (LLC, Inc, Co, ...) dropped:
    "ABC Towing, LLC", "abc towing llc" and "A.B.C. Towing" all give "abc towing".
    An empty or punctuation-only name gives "".
    """
    if not name:
        return ""
    text = _strip_accents(name).casefold().replace("&", " and ")
    text = _SEPARATING.sub(" ", _JOINING.sub("", text))
    words = text.split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def normalize_email(email: str | None) -> str | None:
    """Trimmed and lowercased; None when empty or not shaped like an address."""
    if not email:
        return None
    value = email.strip().lower()
    if value.startswith("mailto:"):
        value = value[len("mailto:"):]
    return value if _EMAIL.match(value) else None


_PHONE_TYPES = {
    PhoneNumberType.MOBILE: ("mobile", True),
    # libphonenumber cannot tell a US landline from a mobile (both are
    # FIXED_LINE_OR_MOBILE): we do not claim "mobile", but allow texting,
    # since a failed SMS is reported back by the gateway.
    PhoneNumberType.FIXED_LINE_OR_MOBILE: ("unknown", True),
    PhoneNumberType.FIXED_LINE: ("landline", False),
    PhoneNumberType.TOLL_FREE: ("landline", False),
    PhoneNumberType.VOIP: ("voip", False),
}


def phone_to_e164(raw: str | None, region: str = "US") -> tuple[str | None, str, bool]:
    """(E.164 number or None, phone type, SMS-eligible) of a phone number as typed.

    Accepts the usual spellings ("(214) 555-0143", "817.555.0152", "+1 (704)
    555-0131", "1-480-555-0109"); an extension ("ext. 4") is dropped from the
    E.164 form. The type is "mobile", "landline", "voip" or "unknown"; mobile
    numbers, and numbers that may be mobile, are SMS-eligible. Anything that is
    not a valid number for its region gives (None, "unknown", False).
    """
    if not raw or not str(raw).strip():
        return None, "unknown", False
    try:
        number = phonenumbers.parse(str(raw).strip(), region)
    except phonenumbers.NumberParseException:
        return None, "unknown", False
    if not phonenumbers.is_valid_number(number):
        return None, "unknown", False
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    phone_type, sms = _PHONE_TYPES.get(phonenumbers.number_type(number), ("unknown", False))
    return e164, phone_type, sms


US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI",
    "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
    "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND",
    "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "puerto rico": "PR",
}


def normalize_us_state(value: str | None) -> str | None:
    """A US state written out ("Texas") as its USPS code ("TX"); anything else as given."""
    if not value or not value.strip():
        return None
    value = value.strip()
    return US_STATES.get(value.casefold(), value.upper() if len(value) == 2 else value)
