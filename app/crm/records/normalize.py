"""Match keys and channel identities: company names, e-mail addresses, phone numbers.

These are pure functions (no database, no Flask) shared by the CSV import and any
other writer of `companies.normalized_name`, `contacts.email_normalized` and
`contacts.phone_e164`: a dedupe key only works if every writer computes it the
same way.
"""
from __future__ import annotations

import functools
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


# Words that say nothing about which trade a business is in ("Towing service" is Towing).
_GENERIC_TRADE_WORDS = frozenset({
    "service", "services", "company", "companies", "contractor", "contractors", "business",
    "businesses", "provider", "providers", "shop", "shops", "agency", "and", "the", "of",
})
TAXONOMY_SIMILARITY = 0.45  # pg_trgm-style trigram similarity that counts as close


def _stem(word: str) -> str:
    """A crude English stem, enough for trade names: plumber/plumbing -> plumb."""
    for suffix in ("ing", "ers", "er", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def trade_words(text: str | None) -> tuple[str, ...]:
    """The words of an industry or category that matter, stemmed: "Towing services" ->
    ("tow",), "Heating & Air" -> ("heat", "air")."""
    if not text:
        return ()
    folded = _strip_accents(text).casefold().replace("&", " and ")
    words = _SEPARATING.sub(" ", _JOINING.sub("", folded)).split()
    kept = [w for w in words if w not in _GENERIC_TRADE_WORDS] or words
    return tuple(_stem(w) for w in kept)


def _trigrams(words: tuple[str, ...]) -> set[str]:
    grams: set[str] = set()
    for word in words:
        padded = f"  {word} "
        grams.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return grams


def closest_taxonomy_value(raw: str | None, values: list[str]) -> str | None:
    """The list value `raw` means ("towing services" -> "Towing"), or None when nothing is
    close. Same stemmed words, then one side's words all in the other's ("Towing &
    Recovery" -> "Towing"), then the best trigram similarity of at least
    TAXONOMY_SIMILARITY ("Electrician" -> "Electrical")."""
    key = trade_words(raw)
    if not key:
        return None
    best, best_score = None, 0.0
    for value in values:
        words = trade_words(value)
        if not words:
            continue
        if words == key:
            return value
        a, b = _trigrams(key), _trigrams(words)
        score = len(a & b) / len(a | b)
        if set(words) <= set(key) or set(key) <= set(words):
            score += 1  # containment beats any similarity
        if score > best_score:
            best, best_score = value, score
    return best if best_score >= TAXONOMY_SIMILARITY else None


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


HOME_REGION = "US"


def format_phone(value: str | None, region: str = HOME_REGION) -> str:
    """A phone number as people read it (the `phone` template filter): national format at
    home ("+12145550143" -> "(214) 555-0143"), international abroad ("+44 20 7946 0958").
    Takes E.164 or a number as typed; what is not a valid number is shown as written."""
    if not value:
        return ""
    return _format_phone(str(value), region)


@functools.lru_cache(maxsize=4096)
def _format_phone(value: str, region: str) -> str:
    # cached: a thread of 100 texts shows the same two numbers 100 times (parsing them was
    # 13 ms of the texts panel, bench.inbox)
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    home = phonenumbers.region_code_for_number(number) == region
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL if home
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)


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
