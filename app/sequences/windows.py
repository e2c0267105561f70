"""The customer's clock: their time zone, the definition's send window, waits.

The time zone is the contact's (`contacts.timezone`), else the one their phone number's area
code has (phonenumbers' timezone module, when it names exactly one), else the company's
state's (its default billing address, else any address), else SEQUENCE_DEFAULT_TIMEZONE.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

from app.sequences.definitions import Window

# A state's most populous time zone (states split between two zones take the larger part).
STATE_ZONES = {
    "AL": "America/Chicago", "AK": "America/Anchorage", "AZ": "America/Phoenix", "AR": "America/Chicago",
    "CA": "America/Los_Angeles", "CO": "America/Denver", "CT": "America/New_York", "DE": "America/New_York",
    "DC": "America/New_York", "FL": "America/New_York", "GA": "America/New_York", "HI": "Pacific/Honolulu",
    "ID": "America/Boise", "IL": "America/Chicago", "IN": "America/Indiana/Indianapolis", "IA": "America/Chicago",
    "KS": "America/Chicago", "KY": "America/New_York", "LA": "America/Chicago", "ME": "America/New_York",
    "MD": "America/New_York", "MA": "America/New_York", "MI": "America/Detroit", "MN": "America/Chicago",
    "MS": "America/Chicago", "MO": "America/Chicago", "MT": "America/Denver", "NE": "America/Chicago",
    "NV": "America/Los_Angeles", "NH": "America/New_York", "NJ": "America/New_York", "NM": "America/Denver",
    "NY": "America/New_York", "NC": "America/New_York", "ND": "America/Chicago", "OH": "America/New_York",
    "OK": "America/Chicago", "OR": "America/Los_Angeles", "PA": "America/New_York", "RI": "America/New_York",
    "SC": "America/New_York", "SD": "America/Chicago", "TN": "America/Chicago", "TX": "America/Chicago",
    "UT": "America/Denver", "VT": "America/New_York", "VA": "America/New_York", "WA": "America/Los_Angeles",
    "WV": "America/New_York", "WI": "America/Chicago", "WY": "America/Denver", "PR": "America/Puerto_Rico",
}


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def phone_zone(e164: str | None) -> ZoneInfo | None:
    if not e164:
        return None
    try:
        number = phonenumbers.parse(e164, "US")
    except phonenumbers.NumberParseException:
        return None
    zones = [z for z in phone_timezones.time_zones_for_number(number) if z != "Etc/Unknown"]
    return _zone(zones[0]) if len(zones) == 1 else None


def state_zone(state: str | None) -> ZoneInfo | None:
    return _zone(STATE_ZONES.get((state or "").strip().upper()[:2]))


def company_state(company) -> str | None:
    if company is None:
        return None
    addresses = sorted(company.addresses, key=lambda a: (not a.is_default_billing, a.created_at))
    return addresses[0].state if addresses else None


def contact_zone(contact, company, default: str) -> tuple[ZoneInfo, str]:
    """The zone to send in and where it came from (shown on the lead page)."""
    zone = _zone(getattr(contact, "timezone", None))
    if zone:
        return zone, "the contact's time zone"
    zone = phone_zone(getattr(contact, "phone_e164", None))
    if zone:
        return zone, "the phone number's area code"
    zone = state_zone(company_state(company))
    if zone:
        return zone, "the company's state"
    return ZoneInfo(default), "the default time zone"


def in_window(moment: datetime, window: Window, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    return local.weekday() in window.days and window.start <= local.time().replace(tzinfo=None) < window.end


def next_open(moment: datetime, window: Window, zone: ZoneInfo) -> datetime:
    """`moment` if the window is open then, else when it next opens."""
    if in_window(moment, window, zone):
        return moment
    local = moment.astimezone(zone)
    for days_ahead in range(0, 8):
        day = (local + timedelta(days=days_ahead)).date()
        if day.weekday() not in window.days:
            continue
        opens = datetime.combine(day, window.start, tzinfo=zone)
        if opens > local:
            return opens
    raise ValueError("a window without days")  # the save check refuses those


def after_wait(moment: datetime, amount: int, unit: str, zone: ZoneInfo) -> datetime:
    """`amount` hours later, or `amount` business days (Mon–Fri) later at the same local time."""
    if unit == "hours":
        return moment + timedelta(hours=amount)
    local = moment.astimezone(zone)
    day, left = local.date(), amount
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=zone)
