"""Issue 9: imported industries are Industry list values; phones read nationally."""
from __future__ import annotations

import pytest

from app.crm.records.normalize import closest_taxonomy_value, format_phone

LIST = ["Towing", "HVAC", "Plumbing", "Landscaping", "Trucking", "Construction", "Delivery",
        "Equipment Rental", "Electrical", "Pest Control", "Roofing", "Moving & Storage", "Pool Service"]


@pytest.mark.parametrize(("raw", "value"), [
    ("towing services", "Towing"), ("Towing service", "Towing"), ("Towing & Recovery", "Towing"),
    ("plumbers", "Plumbing"), ("hvac contractors", "HVAC"), ("landscapers", "Landscaping"),
    ("construction companies", "Construction"), ("trucking companies", "Trucking"),
    ("pest control services", "Pest Control"), ("Electrician", "Electrical"),
    ("Equipment rental agency", "Equipment Rental"), ("Pool cleaning service", "Pool Service"),
    ("TOWING", "Towing"),
])
def test_close_values_map_to_the_list(raw, value):
    assert closest_taxonomy_value(raw, LIST) == value


@pytest.mark.parametrize("raw", ["courier services", "septic services", "Pet grooming", "Auto repair shop", "", None])
def test_nothing_close_gives_none(raw):
    assert closest_taxonomy_value(raw, LIST) is None


@pytest.mark.parametrize(("stored", "shown"), [
    ("+12145550143", "(214) 555-0143"),
    ("+1 214-555-0143", "(214) 555-0143"),
    ("817.555.0152 ext. 4", "(817) 555-0152 ext. 4"),
    ("+442079460958", "+44 20 7946 0958"),
    ("call me maybe", "call me maybe"),
    (None, ""),
])
def test_phones_read_nationally(stored, shown):
    assert format_phone(stored) == shown
