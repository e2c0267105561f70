"""The demo data is made with the app's own rules: e-mail keys by the app's normaliser, device
and SIM numbers whose check digits the warehouse's Luhn accepts."""
from __future__ import annotations

from app import demo_data
from app.crm.records.normalize import normalize_email
from app.fulfillment import codes


def test_demo_rows_pass_the_apps_rules():
    data = demo_data.generate(companies=40, seed=5)
    emails = [c for c in data.contacts if c.get("email")]
    assert emails and all(c["email_normalized"] == normalize_email(c["email"]) for c in emails)
    assert data.devices and all(codes.luhn_valid(d["imei"]) for d in data.devices if d.get("imei"))
    assert data.sim_cards and all(codes.luhn_valid(s["iccid"]) for s in data.sim_cards)
    assert demo_data.luhn_check_digit is codes.luhn_check_digit  # one Luhn, not a copy
