"""Deterministic demo data for a GPS-tracker seller (`flask --app wsgi demo-data`).

`generate()` builds every row as plain dicts, without touching the database: all
*choices* (names, stages, amounts, day offsets) come from `random.Random(seed)`,
all dates are relative to `now`. `load_demo_data()` calls it with the wall clock,
so two loads with the same seed differ only by the time shift ("days in stage",
"overdue" and "due today" look right whatever the day). Primary keys are random
UUIDs; nothing else is.

The big tables go in with ORM bulk INSERTs (`session.execute(insert(Model), rows)`);
activities go through `app.activity.services.record()`, the one way to write them.
No invoices: invoice numbering belongs elsewhere.
"""
from __future__ import annotations

import random
import re
import string
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Enum as SAEnum
from sqlalchemy import func, insert, select

from app.activity.models import Activity
from app.activity.services import record
from app.auth.models import User, UserRole
from app.auth.passwords import hash_password, unusable_password
from app.billing import invoices, payments, signing
from app.billing.models import (
    AgreementTemplate,
    Backend,
    Carrier,
    ContractTerm,
    PaymentMethod,
    PaymentTerm,
    Product,
    ShippingType,
    TaxRate,
)
from app.billing.totals import recompute_invoice
from app.crm.models import (
    Company,
    CompanyAddress,
    CompanyStatus,
    Contact,
    Lead,
    LeadScore,
    LeadStage,
    LeadTag,
    Note,
    Tag,
    Task,
    TaxonomyValue,
)
from app.crm.records.normalize import normalize_company_name, normalize_email
from app.crm.scoring.services import CONTACT_TYPES, ENGAGEMENT_WINDOW, Inputs, compute
from app.extensions import db
from app.fulfillment.codes import luhn_check_digit, luhn_valid
from app.fulfillment.models import Device, SimCard
from app.inbox.models import CallLog, Conversation, SmsMessage
from app.settings.models import Setting

SEED = 20261122
CENT = Decimal("0.01")
DEVICE_PRICE = Decimal("79.00")
MONTHLY_RATE = Decimal("24.95")

# --------------------------------------------------------------------------- users

DEMO_LOGINS: list[dict] = [
    {"role": "ADMIN", "email": "admin@example.com", "password": "demo-admin-pass"},
    {"role": "NICK", "email": "nick@example.com", "password": "demo-nick-pass"},
    {"role": "REP", "email": "rep@example.com", "password": "demo-rep-pass"},
    {"role": "REP", "email": "rep2@example.com", "password": "demo-rep2-pass"},
    {"role": "OPERATOR", "email": "warehouse@example.com", "password": "demo-warehouse-pass"},
]

_USER_PEOPLE = {
    "admin@example.com": ("Dana", "Whitfield", "+1 (408) 555-0110"),
    "nick@example.com": ("Nick", "Romano", "+1 (408) 555-0100"),
    "rep@example.com": ("Jordan", "Reyes", "+1 (408) 555-0121"),
    "rep2@example.com": ("Priya", "Shah", "+1 (408) 555-0122"),
    "warehouse@example.com": ("Marcus", "Lee", "+1 (408) 555-0130"),
}
AI_AGENT_EMAIL = "scout-ai@example.com"

SELLER_PROFILE = {
    "name": "GPS Leaders",
    "legal_name": "GPS Leaders LLC",
    "address_line1": "2450 Mission College Blvd",
    "address_line2": "Suite 210",
    "city": "Santa Clara",
    "state": "CA",
    "zip": "95054",
    "country": "US",
    "phone": "+1 (408) 555-0100",
    "email": "sales@example.com",
    "website": "https://gpsleaders.example.com",
}
# The SMS gateway numbers the reps text from (fictional 555-01xx range).
_REP_SMS_NUMBERS = {"rep@example.com": "+14085550121", "rep2@example.com": "+14085550122"}

# ------------------------------------------------------------------------ taxonomy

INDUSTRIES = [
    "Towing", "HVAC", "Plumbing", "Landscaping", "Trucking", "Construction", "Delivery",
    "Equipment Rental", "Electrical", "Pest Control", "Roofing", "Waste Management",
    "Moving & Storage", "Pool Service",
]
_INDUSTRY_WEIGHTS = [16, 14, 12, 10, 10, 8, 8, 5, 5, 4, 3, 2, 2, 1]
SOURCES = ["Google Maps", "Plusvibe", "Referral", "Website", "Trade Show", "Cold Call"]
_SOURCE_WEIGHTS = [40, 25, 10, 10, 5, 10]
VENDORS = ["Queclink", "CalAmp", "Teltonika", "Suntech", "Concox"]
CARRIERS = [("att", "AT&T"), ("tmobile", "T-Mobile"), ("verizon", "Verizon")]
BACKENDS = [
    ("gps-leaders-portal", "GPS Leaders Portal"),
    ("tracksolid-pro", "Tracksolid Pro"),
    ("gpsgate", "GpsGate"),
    ("traccar", "Traccar"),
]
PAYMENT_INTERVALS = ["Monthly", "Quarterly", "Annual", "Prepaid 2 Years"]
SHIPPING_TYPES = [
    ("ups-ground", "UPS Ground", Decimal("18.00")),
    ("ups-2nd-day-air", "UPS 2nd Day Air", Decimal("32.00")),
    ("ups-next-day-air", "UPS Next Day Air", Decimal("58.00")),
    ("usps-priority", "USPS Priority Mail", Decimal("12.50")),
    ("local-pickup", "Local Pickup", Decimal("0.00")),
]
PAYMENT_METHODS = ["Credit Card", "ACH", "Check", "Wire", "Cash"]

# ---------------------------------------------------------------------------- tags

# (slug, name, category, color, description, is_system)
TAGS = [
    ("interested", "Interested", "DISPOSITION", "#16a34a", "Wants to hear more", True),
    ("not-interested", "Not interested", "DISPOSITION", "#dc2626", "Declined", True),
    ("callback", "Callback", "DISPOSITION", "#f59e0b", "Asked us to call back later", True),
    ("voicemail", "Voicemail", "DISPOSITION", "#6366f1", "Left a voicemail", True),
    ("demo-booked", "Demo booked", "DISPOSITION", "#0ea5e9", "Demo on the calendar", True),
    ("quote-sent", "Quote sent", "DISPOSITION", "#8b5cf6", "Quote e-mailed", True),
    ("no-answer", "No answer", "DISPOSITION", "#94a3b8", "Nobody picked up", True),
    ("wrong-number", "Wrong number", "DISPOSITION", "#78716c", "Number does not reach them", True),
    ("icp-fleet-10-plus", "Fleet 10+", "ICP", "#0d9488", "Ten or more vehicles", True),
    ("icp-small-fleet", "Small fleet", "ICP", "#65a30d", "Fewer than ten vehicles", True),
    ("icp-high-value", "High value", "ICP", "#ca8a04", "Forty or more vehicles", True),
    ("icp-multi-location", "Multi-location", "ICP", "#0891b2", "Several yards or branches", True),
    ("gate-dnc", "Do not contact", "GATE", "#991b1b", "Stops every sequence", True),
    ("gate-decision-maker", "Decision maker reached", "GATE", "#1d4ed8", "Talked to the owner", True),
    ("gate-budget-confirmed", "Budget confirmed", "GATE", "#15803d", "Budget is approved", True),
    ("trade-show-2026", "Fleet Expo 2026", "CUSTOM", "#db2777", "Met at the booth", False),
    ("spanish-speaking", "Spanish speaking", "CUSTOM", "#ea580c", "Prefers Spanish", False),
]
_TAG_NAMES = {slug: (name, category) for slug, name, category, *_ in TAGS}
ICP_SLUGS = ["icp-fleet-10-plus", "icp-small-fleet", "icp-high-value", "icp-multi-location"]

# ---------------------------------------------------------------- reference tables

# (qb_item_id, name, description, sku, unit_price, cost, category, type)
PRODUCTS = [
    ("21", "GL300 4G LTE GPS Tracker", "Queclink GL300MA portable tracker, 4G LTE Cat-M1, "
     "up to 10-day battery", "GL300", "79.00", "38.50", "Hardware", "ONE_TIME"),
    ("22", "Fleet Tracking Service - Monthly", "Live tracking, geofences, alerts and mobile "
     "app, per device per month", "SVC-MONTHLY", "24.95", "6.10", "Service Plans", "RECURRING"),
    ("23", "Shipping & Handling", "UPS Ground, insured", "SHIP", "18.00", None, "Shipping",
     "SERVICE"),
    ("24", "GV500MA OBD-II Plug-in Tracker", "Plug-and-play OBD tracker with engine "
     "diagnostics", "GV500MA", "69.00", "33.00", "Hardware", "ONE_TIME"),
    ("25", "GV57MG Hardwired Vehicle Tracker", "Hidden hardwired install with ignition "
     "sensing and starter cut", "GV57MG", "89.00", "41.75", "Hardware", "ONE_TIME"),
    ("26", "GL320MG Asset Tracker", "Long-life asset tracker for trailers and equipment",
     "GL320MG", "99.00", "47.20", "Hardware", "ONE_TIME"),
    ("27", "Professional Installation (per vehicle)", "Hardwired install by a certified "
     "technician at your yard", "INSTALL", "65.00", "40.00", "Services", "SERVICE"),
    ("28", "Fleet Tracking Service - Annual Prepaid", "Twelve months of service, prepaid, "
     "per device", "SVC-ANNUAL", "269.00", "73.20", "Service Plans", "RECURRING"),
    ("29", "Magnetic Weatherproof Case", "Waterproof magnetic case for the GL300",
     "CASE-MAG", "14.95", "4.10", "Accessories", "ONE_TIME"),
    ("30", "Activation Fee", "One-time SIM activation per device", "ACTIVATION", "10.00",
     "2.00", "Services", "SERVICE"),
]
# (slug, name, rate, state, jurisdiction, category)
TAX_RATES = [
    ("ca-santa-clara-county", "Santa Clara County, CA", "0.09375", "CA", "Santa Clara County",
     "CA_DISTRICT"),
    ("ca-los-angeles-county", "Los Angeles County, CA", "0.09750", "CA", "Los Angeles County",
     "CA_DISTRICT"),
    ("ca-san-diego-county", "San Diego County, CA", "0.07750", "CA", "San Diego County",
     "CA_DISTRICT"),
    ("ca-sacramento-county", "Sacramento County, CA", "0.08750", "CA", "Sacramento County",
     "CA_DISTRICT"),
    ("ca-fresno-county", "Fresno County, CA", "0.08350", "CA", "Fresno County",
     "CA_DISTRICT"),
    ("ca-alameda-county", "Alameda County, CA", "0.10250", "CA", "Alameda County",
     "CA_DISTRICT"),
    ("ca-riverside-county", "Riverside County, CA", "0.08750", "CA", "Riverside County",
     "CA_DISTRICT"),
    ("ca-statewide-base", "California statewide base", "0.07250", "CA", None, "CA_DISTRICT"),
    ("tx-dallas", "Dallas, TX", "0.08250", "TX", "City of Dallas", "OTHER_STATE"),
    ("resale", "Resale (certificate on file)", "0.00000", None, None, "RESALE"),
    ("out-of-state", "Out of state (no nexus)", "0.00000", None, None, "OUT_OF_STATE"),
]
PAYMENT_TERMS = [("due-on-receipt", "Due on receipt"), ("net-15", "Net 15"), ("net-30", "Net 30")]
CONTRACT_TERMS = [
    ("month-to-month", "Month-to-month", None),
    ("12-months", "12 months", 12),
    ("24-months", "24 months", 24),
    ("36-months", "36 months", 36),
]
AGREEMENT_VARIABLES = [
    "company_name", "device_count", "monthly_rate", "contract_term", "effective_date",
]
SERVICE_AGREEMENT = """GPS TRACKING SERVICE AGREEMENT

This Service Agreement ("Agreement") is entered into as of {{effective_date}} between GPS Leaders LLC ("Provider") and {{company_name}} ("Customer").

1. Devices. Provider will supply {{device_count}} GPS tracking device(s) with activated SIM cards. Title to purchased hardware passes to Customer on delivery.

2. Service. Provider will provide live tracking, trip history, geofence and speed alerts, and access to the web portal and mobile app for each active device at {{monthly_rate}} per device per month.

3. Term. The service term is {{contract_term}}, starting on the effective date. Month-to-month service may be canceled with 30 days' written notice. Fixed terms renew month-to-month unless canceled.

4. Billing. Service fees are billed monthly in advance. Late balances may result in suspension of tracking after 15 days' notice.

5. Hardware warranty. Devices are covered against manufacturing defects for 12 months. Physical or water damage and improper installation are not covered.

6. Acceptable use. Customer will track only vehicles and assets it owns or lawfully operates and will give any notice to drivers that applicable law requires.

7. Data. Location data belongs to Customer. Provider keeps it for 12 months to operate the service and does not sell it.

8. Limitation of liability. Provider's total liability is limited to the fees paid by Customer in the three months before the claim.

By signing, Customer accepts this Agreement on behalf of {{company_name}}.
"""
HARDWARE_TERMS = """HARDWARE PURCHASE TERMS

{{company_name}} purchases {{device_count}} GPS tracking device(s) from GPS Leaders LLC, effective {{effective_date}}.

- Devices ship within 2 business days of payment. Risk of loss passes on delivery to the carrier.
- Unused devices in original packaging may be returned within 30 days for a refund, less shipping.
- Tracking service is billed separately at {{monthly_rate}} per device per month, for a term of {{contract_term}}.
"""

SETTINGS_ROWS = [
    ("pipeline.stale_after_days", 14),
    ("company.profile", SELLER_PROFILE),
    ("pricing.defaults", {
        "device_unit_price": str(DEVICE_PRICE),
        "monthly_service_rate": str(MONTHLY_RATE),
        "shipping_type": "ups-ground",
        "payment_term": "due-on-receipt",
        "contract_term": "month-to-month",
    }),
]

# ----------------------------------------------------------------- word lists

# (city, state, area code, zip prefix, time zone)
CITIES = [
    ("Dallas", "TX", "214", "752", "America/Chicago"),
    ("Fort Worth", "TX", "817", "761", "America/Chicago"),
    ("Houston", "TX", "713", "770", "America/Chicago"),
    ("Austin", "TX", "512", "787", "America/Chicago"),
    ("San Antonio", "TX", "210", "782", "America/Chicago"),
    ("Phoenix", "AZ", "602", "850", "America/Phoenix"),
    ("Mesa", "AZ", "480", "852", "America/Phoenix"),
    ("Tucson", "AZ", "520", "857", "America/Phoenix"),
    ("Denver", "CO", "303", "802", "America/Denver"),
    ("Grand Junction", "CO", "970", "815", "America/Denver"),
    ("Las Vegas", "NV", "702", "891", "America/Los_Angeles"),
    ("Los Angeles", "CA", "213", "900", "America/Los_Angeles"),
    ("San Diego", "CA", "619", "921", "America/Los_Angeles"),
    ("Sacramento", "CA", "916", "958", "America/Los_Angeles"),
    ("Fresno", "CA", "559", "937", "America/Los_Angeles"),
    ("San Jose", "CA", "408", "951", "America/Los_Angeles"),
    ("Oakland", "CA", "510", "946", "America/Los_Angeles"),
    ("Riverside", "CA", "951", "925", "America/Los_Angeles"),
    ("Atlanta", "GA", "404", "303", "America/New_York"),
    ("Orlando", "FL", "407", "328", "America/New_York"),
    ("Tampa", "FL", "813", "336", "America/New_York"),
    ("Jacksonville", "FL", "904", "322", "America/New_York"),
    ("Charlotte", "NC", "704", "282", "America/New_York"),
    ("Columbus", "OH", "614", "432", "America/New_York"),
    ("Nashville", "TN", "615", "372", "America/Chicago"),
    ("Memphis", "TN", "901", "381", "America/Chicago"),
    ("Oklahoma City", "OK", "405", "731", "America/Chicago"),
    ("Tulsa", "OK", "918", "741", "America/Chicago"),
    ("Albuquerque", "NM", "505", "871", "America/Denver"),
    ("Salt Lake City", "UT", "801", "841", "America/Denver"),
    ("Boise", "ID", "208", "837", "America/Boise"),
    ("Kansas City", "MO", "816", "641", "America/Chicago"),
]
_CITY_WEIGHTS = [8, 5, 6, 4, 4, 7, 3, 3, 5, 1, 3, 6, 4, 4, 3, 3, 2, 3, 4, 3, 3, 2, 3, 3,
                 3, 2, 2, 2, 2, 2, 1, 2]
NAME_PREFIXES = [
    "ABC", "Ace", "All Star", "Alpine", "Apex", "Bayshore", "Big Sky", "Blue Ridge",
    "Canyon State", "Cardinal", "Cascade", "Coastal", "Cool Breeze", "Copper State",
    "Desert Hook", "Eagle", "Evergreen", "Express", "Front Range", "Frontier", "Golden State",
    "Granite", "Green Acres", "Gulf Coast", "Harbor", "Heartland", "Heritage", "Hill Country",
    "Iron Horse", "Keystone", "Lakeside", "Liberty", "Lone Star", "Magnolia", "Mesa Verde",
    "Metro", "Mile High", "Monarch", "Northside", "Pacific", "Patriot", "Peachtree",
    "Piedmont", "Pioneer", "Polar Bear", "Prairie", "Precision", "Quality", "Rapid",
    "Red River", "Redwood", "Reliable", "Rocky Mountain", "Saguaro", "Silver Creek",
    "Southern", "Summit", "Sun Country", "Suncoast", "Tidewater", "Titan", "Trinity",
    "Tri-County", "True North", "Twin Peaks", "Valley", "Westside",
]
FIRST_NAMES = [
    "Mike", "Tanya", "Luis", "Rick", "Anita", "Dwayne", "Carlos", "Jessica", "Tom", "Maria",
    "Kevin", "Sarah", "Jose", "Brandon", "Linda", "Hector", "Amy", "Travis", "Nicole", "Ray",
    "Gloria", "Derek", "Heather", "Miguel", "Karen", "Jason", "Rosa", "Cody", "Angela",
    "Darnell", "Megan", "Tyler", "Sandra", "Victor", "Crystal", "Wes", "Monica", "Greg",
    "Tiffany", "Ahmed", "Lauren", "Dustin", "Erica", "Andre", "Paula", "Trent", "Vanessa",
    "Shawn", "Denise", "Raj", "Kim", "Bobby", "Yolanda", "Chad", "Mei", "Frank", "Brenda",
    "Eddie", "Natalie", "Omar",
]
LAST_NAMES = [
    "Delgado", "Brooks", "Pena", "Garza", "Natarajan", "Whitaker", "Knox", "Prewitt",
    "Gaines", "Bell", "Holloway", "Simmons", "Tran", "Mendez", "Kowalski", "Larkin", "Haddad",
    "O'Connor", "Ferris", "Vogel", "Jordan", "Lindqvist", "Sutton", "Hollis", "Marsh",
    "Garcia", "Miller", "Johnson", "Nguyen", "Patel", "Martinez", "Williams", "Anderson",
    "Thompson", "Hernandez", "Lopez", "Clark", "Lewis", "Walker", "Young", "Hall", "Allen",
    "Wright", "Scott", "Torres", "Ramirez", "Flores", "Rivera", "Campbell", "Parker",
    "Evans", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Reed",
    "Bailey",
]
TITLES = [
    "Owner", "Owner", "Owner", "Operations Manager", "Fleet Manager", "Dispatch Manager",
    "General Manager", "Office Manager", "Service Manager", "President", "Controller",
    "Co-Owner", "VP Operations",
]
STREETS = [
    "Main St", "Industrial Blvd", "Commerce Dr", "Irving Blvd", "Market St", "Airport Rd",
    "Old Mill Rd", "Enterprise Way", "Oak St", "Elm St", "Business Park Dr", "Depot St",
    "Railroad Ave", "Warehouse Rd", "Frontage Rd", "Center St", "Park Ave", "Lakeview Dr",
    "N Main St", "Buckeye Rd", "Washington St", "Jefferson Ave", "Cedar Ln", "Freeway Dr",
    "Trade Center Pkwy", "Distribution Way", "Pioneer Rd", "Mission St",
]

# industry -> (name suffixes, Google category, vehicle words, about text)
INDUSTRY_FLAVOR: dict[str, tuple[list[str], str, str, str]] = {
    "Towing": (["Towing", "Towing & Recovery", "Wrecker Service", "Roadside & Towing"],
               "Towing service", "tow trucks", "24/7 light and heavy duty towing, lockouts and "
               "roadside assistance."),
    "HVAC": (["Heating & Air", "HVAC", "Air Conditioning", "Mechanical", "Comfort Systems"],
             "HVAC contractor", "service vans", "Residential and commercial heating, cooling "
             "and indoor air quality."),
    "Plumbing": (["Plumbing", "Plumbing & Drain", "Rooter", "Plumbing & Heating"],
                 "Plumber", "service vans", "Drain cleaning, water heaters, repipes and 24-hour "
                 "emergency plumbing."),
    "Landscaping": (["Landscaping", "Lawn & Landscape", "Tree Service", "Grounds Care"],
                    "Landscaper", "trucks and trailers", "Commercial grounds maintenance, "
                    "irrigation and tree work."),
    "Trucking": (["Trucking", "Freight", "Transport", "Hauling", "Carriers"],
                 "Trucking company", "tractors", "Regional dry van and flatbed freight."),
    "Construction": (["Construction", "Builders", "Contracting", "Excavating", "Site Works"],
                     "General contractor", "pickups and heavy equipment", "Commercial "
                     "construction, site work and excavation."),
    "Delivery": (["Courier", "Delivery", "Same Day", "Parcel"],
                 "Courier service", "delivery vans", "Same-day and scheduled local delivery."),
    "Equipment Rental": (["Equipment Rental", "Rentals", "Tool & Equipment Rental"],
                         "Equipment rental agency", "rental units", "Skid steers, lifts, "
                         "generators and trailers for rent."),
    "Electrical": (["Electric", "Electrical Contractors", "Electric & Solar"],
                   "Electrician", "service trucks", "Commercial and residential electrical "
                   "service and solar installs."),
    "Pest Control": (["Pest Control", "Exterminators", "Termite & Pest"],
                     "Pest control service", "service trucks", "Termite, rodent and general "
                     "pest control."),
    "Roofing": (["Roofing", "Roofing & Gutters", "Roofing Pros"],
                "Roofing contractor", "crew trucks", "Roof repair, replacement and gutters."),
    "Waste Management": (["Waste Services", "Dumpster Rental", "Disposal"],
                         "Waste management service", "roll-off trucks", "Roll-off dumpsters "
                         "and commercial waste hauling."),
    "Moving & Storage": (["Moving & Storage", "Movers", "Moving Services"],
                         "Moving company", "box trucks", "Local and long-distance moves, "
                         "packing and storage."),
    "Pool Service": (["Pool Service", "Pools & Spas", "Pool Care"],
                     "Pool cleaning service", "service trucks", "Weekly pool cleaning, "
                     "repairs and equipment."),
}
COMPETITORS = ["Samsara", "Verizon Connect", "GPS Trackit", "Azuga", "Linxup", "Motive",
               "Teletrac Navman", "Spireon"]
CAMPAIGNS = {
    "Towing": "Towing & Recovery - TX/AZ - Oct26",
    "HVAC": "HVAC & Plumbing Fleets - Sunbelt",
    "Plumbing": "HVAC & Plumbing Fleets - Sunbelt",
    "Landscaping": "Landscaping Crews - Winter Prep",
    "Trucking": "Trucking & Delivery - Midwest",
    "Delivery": "Trucking & Delivery - Midwest",
}
LOST_REASONS = [
    "Went with Samsara", "Price too high for the monthly plan", "Chose Verizon Connect",
    "Not ready - revisit next quarter", "No budget this year", "Owner not interested",
    "Locked into a contract with a competitor", "Went dark after the quote",
]
BOGUS_REASONS = [
    "Duplicate listing", "Not a fleet business", "Out of business", "Bad phone and e-mail",
    "Residential, not commercial",
]

# LeadStage values in pipeline order, and how likely a company's first lead is in each.
STAGES = ["NEW_LEAD", "HOT", "QUALIFIED", "QUOTED", "BUY_PERIOD_30", "BUY_PERIOD_60",
          "BUY_PERIOD_90", "WON", "LOST", "BOGUS"]
_STAGE_WEIGHTS = [34, 10, 12, 9, 5, 5, 5, 11, 7, 2]
OPEN_STAGES = STAGES[:7]
STAGE_LABELS = {
    "NEW_LEAD": "New lead", "HOT": "Hot", "QUALIFIED": "Qualified", "QUOTED": "Quoted",
    "BUY_PERIOD_30": "Buy in 30 days", "BUY_PERIOD_60": "Buy in 60 days",
    "BUY_PERIOD_90": "Buy in 90 days", "WON": "Won", "LOST": "Lost", "BOGUS": "Bogus",
}
_DISPOSITIONS_BY_STAGE = {
    "NEW_LEAD": ["no-answer", "voicemail", "callback"],
    "HOT": ["interested", "callback"],
    "QUALIFIED": ["interested", "demo-booked"],
    "QUOTED": ["quote-sent"],
    "BUY_PERIOD_30": ["quote-sent", "callback"],
    "BUY_PERIOD_60": ["quote-sent", "callback"],
    "BUY_PERIOD_90": ["callback", "interested"],
    "WON": ["quote-sent", "demo-booked"],
    "LOST": ["not-interested"],
    "BOGUS": ["wrong-number"],
}

NOTE_TEMPLATES = [
    "Talked to {who}. They run {fleet} {vehicles} and want to stop the weekend personal use. "
    "Interested in the GL300 at $79/unit.",
    "Left a voicemail for {who}. Will try again Thursday morning.",
    "{who} is on {competitor} now, contract ends in {months} months. Paying about ${comp_price} "
    "per vehicle per month - our $24.95 plan beats it.",
    "Sent a quote for {units} GL300 units plus monthly service. Waiting on the owner's approval.",
    "Demo done over Zoom. Loved the geofence alerts and the driver scorecards. Asked about a "
    "hardwired option for the {vehicles}.",
    "Gatekeeper says the owner is out in the field until 4pm. Call back after that.",
    "Wants magnetic-mount units they can move between {vehicles}.",
    "Asked for references from other {industry} companies. Sent two.",
    "Had a {asset} stolen last month - strong pain point. Prioritize.",
    "Budget approved for next quarter; wants devices shipped before the first of the month.",
    "Not a fit right now - only two vehicles and both are personal.",
    "Google listing had an old number; found {who}'s cell on the website.",
    "Dispatcher spends an hour a day calling drivers for ETAs. Live map would fix that.",
    "Insurance carrier offers a discount with GPS - sent them the certificate template.",
    "Prefers to pay by ACH. Net 15 is fine for them.",
]
CUSTOMER_NOTES = [
    "{units} units live, happy so far. Possible upsell for the new trucks in spring.",
    "Onboarding call done: set up geofences around the yard and two job sites.",
    "Asked for a second portal login for the dispatcher - done.",
]
TASK_TITLES = {
    "CALL": ["Call {who} back", "Call {who} about the {units}-unit quote",
             "Discovery call with {who}", "Check in with {who} on timing"],
    "EMAIL": ["Send pricing sheet to {company}", "E-mail the quote to {who}",
              "Send GL300 spec sheet and references", "Follow-up e-mail after demo"],
    "SMS": ["Text {who} the demo link", "Text {who} a quick follow-up"],
    "FOLLOW_UP": ["Follow up on quote for {company}", "Follow up: buy window opens",
                  "Chase signature on the service agreement"],
    "GENERAL": ["Confirm shipping address for {company}", "Check install date with {who}",
                "Update fleet size for {company}"],
}
EMAIL_SUBJECTS = [
    "GPS tracking for {company}", "Quick question about your {vehicles}",
    "Your GL300 quote ({units} units)", "Following up - fleet tracking",
    "Demo recap and pricing",
]
SMS_THREADS = [
    ("OUTBOUND", "Hi {first}, it's {rep} with GPS Leaders - got a minute to talk tracking for "
     "your {vehicles}?"),
    ("INBOUND", "Sure, what does it cost per truck?"),
    ("OUTBOUND", "$79 per GL300 and $24.95/mo per unit, no contract required. Want a quote?"),
    ("INBOUND", "Yes send it over. {units} units to start"),
    ("OUTBOUND", "Sent! Check your e-mail for the quote from GPS Leaders."),
    ("INBOUND", "Got it, will look tonight"),
]

# (model, TAC prefix of the IMEI, weight)
DEVICE_MODELS = [("GL300", "86280405", 75), ("GV500MA", "86231905", 10),
                 ("GV57MG", "86558206", 8), ("GL320MG", "86434207", 7)]
# carrier name -> ICCID prefix ("89" telecom + "01" USA + issuer) and total length
ICCID_FORMATS = {"AT&T": ("8901410", 19), "T-Mobile": ("8901260", 19), "Verizon": ("8901480", 20)}

_PLACE_ID_CHARS = string.ascii_letters + string.digits + "_-"


# ------------------------------------------------------------------- helpers

def _money(value: Decimal | int | float | str) -> Decimal:
    return Decimal(value).quantize(CENT)


def estimated_revenue(units: int) -> Decimal:
    """Hardware plus the first year of service."""
    return _money(units * DEVICE_PRICE + 12 * units * MONTHLY_RATE)


@dataclass
class DemoData:
    """Every row of the demo, as dicts keyed by model attribute names, in insert order."""

    now: datetime
    users: list[dict] = field(default_factory=list)
    taxonomy_values: list[dict] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    tax_rates: list[dict] = field(default_factory=list)
    backends: list[dict] = field(default_factory=list)
    carriers: list[dict] = field(default_factory=list)
    shipping_types: list[dict] = field(default_factory=list)
    payment_terms: list[dict] = field(default_factory=list)
    contract_terms: list[dict] = field(default_factory=list)
    agreement_templates: list[dict] = field(default_factory=list)
    settings: list[dict] = field(default_factory=list)
    companies: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    company_addresses: list[dict] = field(default_factory=list)
    leads: list[dict] = field(default_factory=list)
    lead_tags: list[dict] = field(default_factory=list)
    lead_scores: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    tasks: list[dict] = field(default_factory=list)
    call_logs: list[dict] = field(default_factory=list)
    conversations: list[dict] = field(default_factory=list)
    sms_messages: list[dict] = field(default_factory=list)
    sim_cards: list[dict] = field(default_factory=list)
    devices: list[dict] = field(default_factory=list)
    # Keyword arguments of app.activity.services.record() (plus the activity type).
    activities: list[dict] = field(default_factory=list)

    def tables(self) -> dict[str, list[dict]]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "now"}

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.tables().items()}


# ---------------------------------------------------------------- generation

class _Generator:
    def __init__(self, companies: int, seed: int, now: datetime):
        self.n_companies = max(0, companies)
        self.rng = random.Random(seed)
        self.now = now
        self.data = DemoData(now=now)
        self.company_slugs: set[str] = set()
        self.emails: set[str] = set()
        self.place_ids: set[str] = set()
        self.lead_last_touch: dict[uuid.UUID, datetime] = {}

    # -- small utilities
    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    def between(self, start: datetime, end: datetime) -> datetime:
        if end <= start:
            return start
        return start + (end - start) * self.rng.random()

    def phone(self, area: str) -> tuple[str, str]:
        """(display, E.164) in the fictional 555-01xx range."""
        line = f"01{self.rng.randrange(100):02d}"
        return f"+1 ({area}) 555-{line}", f"+1{area}555{line}"

    def unique_email(self, local: str, domain: str) -> str:
        local = re.sub(r"[^a-z0-9.]", "", local.lower()).strip(".") or "info"
        email, n = f"{local}@{domain}", 2
        while email in self.emails:
            email, n = f"{local}{n}@{domain}", n + 1
        self.emails.add(email)
        return email

    # -- users and reference data
    def users(self) -> None:
        admin_id = uuid.uuid4()
        created = self.ago(400)
        for login in DEMO_LOGINS:
            first, last, phone = _USER_PEOPLE[login["email"]]
            is_admin = login["role"] == "ADMIN"
            self.data.users.append({
                "id": admin_id if is_admin else uuid.uuid4(),
                "email": login["email"],
                "password": login["password"],
                "first_name": first,
                "last_name": last,
                "role": login["role"],
                "phone": phone,
                "is_active": True,
                "invited_by_id": None if is_admin or login["role"] == "NICK" else admin_id,
                "invited_at": None if is_admin else created + timedelta(days=2),
                "last_login_at": self.ago(self.rng.uniform(0.05, 3)),
                "created_at": created if is_admin else created + timedelta(days=3),
                "updated_at": self.ago(self.rng.uniform(1, 30)),
            })
        self.data.users.append({
            "id": uuid.uuid4(), "email": AI_AGENT_EMAIL, "password": None,
            "first_name": "Scout", "last_name": "AI Agent", "role": "AI_AGENT", "phone": None,
            "is_active": True, "invited_by_id": admin_id, "invited_at": self.ago(90),
            "last_login_at": None, "created_at": self.ago(90), "updated_at": self.ago(90),
        })
        by_email = {u["email"]: u for u in self.data.users}
        self.reps = [u for u in self.data.users if u["role"] == "REP"]
        self.nick = by_email["nick@example.com"]
        self.ai_agent = by_email[AI_AGENT_EMAIL]

    def reference(self) -> None:
        d = self.data
        stamp = self.ago(400)
        base = {"created_at": stamp, "updated_at": stamp}
        lists = {
            "INDUSTRY": INDUSTRIES, "SOURCE": SOURCES, "VENDOR": VENDORS,
            "CELLULAR_CARRIER": [name for _, name in CARRIERS],
            "BACKEND": [name for _, name in BACKENDS], "PAYMENT_INTERVAL": PAYMENT_INTERVALS,
            "SHIPPING_TYPE": [name for _, name, _ in SHIPPING_TYPES],
            "PAYMENT_METHOD": PAYMENT_METHODS,
        }
        for type_, values in lists.items():
            for i, value in enumerate(values):
                d.taxonomy_values.append({"id": uuid.uuid4(), "type": type_, "value": value,
                                          "sort_order": (i + 1) * 10, "active": True, **base})
        for i, (slug, name, category, color, description, system) in enumerate(TAGS):
            d.tags.append({"id": uuid.uuid4(), "slug": slug, "name": name, "category": category,
                           "color": color, "description": description, "is_system": system,
                           "is_active": True, "sort_order": (i + 1) * 10, **base})
        synced = self.ago(1)
        for qb_id, name, description, sku, price, cost, category, type_ in PRODUCTS:
            d.products.append({
                "id": uuid.uuid4(), "qb_item_id": qb_id, "name": name,
                "description": description, "sku": sku, "unit_price": _money(price),
                "cost": _money(cost) if cost else None, "category": category, "type": type_,
                "active": True, "last_synced_at": synced, **base,
            })
        for i, (slug, name, rate, state, jurisdiction, category) in enumerate(TAX_RATES):
            d.tax_rates.append({"id": uuid.uuid4(), "slug": slug, "name": name,
                                "rate": Decimal(rate), "state": state,
                                "jurisdiction": jurisdiction, "category": category,
                                "active": True, "sort_order": (i + 1) * 10, **base})
        for target, rows in ((d.backends, BACKENDS), (d.carriers, CARRIERS),
                             (d.payment_terms, PAYMENT_TERMS)):
            for i, (slug, name) in enumerate(rows):
                target.append({"id": uuid.uuid4(), "slug": slug, "name": name,
                               "sort_order": (i + 1) * 10, "active": True, **base})
        for i, (slug, name, cost) in enumerate(SHIPPING_TYPES):
            d.shipping_types.append({"id": uuid.uuid4(), "slug": slug, "name": name,
                                     "default_cost": cost, "sort_order": (i + 1) * 10,
                                     "active": True, **base})
        for i, (slug, name, months) in enumerate(CONTRACT_TERMS):
            d.contract_terms.append({"id": uuid.uuid4(), "slug": slug, "name": name,
                                     "months": months, "sort_order": (i + 1) * 10,
                                     "active": True, **base})
        d.agreement_templates.append({
            "id": uuid.uuid4(), "slug": "gps-service-agreement",
            "name": "GPS Tracking Service Agreement", "body": SERVICE_AGREEMENT,
            "variables": list(AGREEMENT_VARIABLES), "active": True, "sort_order": 10, **base,
        })
        d.agreement_templates.append({
            "id": uuid.uuid4(), "slug": "hardware-purchase-terms",
            "name": "Hardware Purchase Terms", "body": HARDWARE_TERMS,
            "variables": list(AGREEMENT_VARIABLES), "active": True, "sort_order": 20, **base,
        })
        for key, value in SETTINGS_ROWS:
            d.settings.append({"id": uuid.uuid4(), "key": key, "value": value,
                               "updated_at": stamp})

    # -- companies and everything hanging off them
    def company_name(self, industry: str, city: str) -> tuple[str, str]:
        """(display name, domain slug), unique by slug."""
        rng = self.rng
        suffixes = INDUSTRY_FLAVOR[industry][0]
        for attempt in range(60):
            pattern = rng.random()
            suffix = rng.choice(suffixes)
            if pattern < 0.55:
                base = f"{rng.choice(NAME_PREFIXES)} {suffix}"
            elif pattern < 0.72:
                base = f"{city} {suffix}"
            elif pattern < 0.9:
                base = f"{rng.choice(LAST_NAMES)} {suffix}"
            else:
                base = f"{rng.choice(LAST_NAMES)} & Sons {suffix}"
            if attempt > 40:
                base = f"{base} of {city}"
            slug = re.sub(r"[^a-z0-9]", "", base.lower())
            if slug not in self.company_slugs:
                break
        else:  # pragma: no cover - 60 misses in a row would take > 10k companies
            slug = f"{slug}{len(self.company_slugs)}"
        self.company_slugs.add(slug)
        legal = rng.choices(["", " LLC", " Inc.", " Co."], weights=[60, 25, 10, 5])[0]
        return base + legal, slug

    def companies(self) -> None:
        rng = self.rng
        stages = list(STAGES)
        rng.shuffle(stages)  # the first ten companies cover every stage, whatever the size
        self.customer_companies: list[tuple[dict, dict]] = []
        for i in range(self.n_companies):
            stage = stages[i] if i < len(stages) else rng.choices(STAGES, _STAGE_WEIGHTS)[0]
            self.one_company(stage)
        for _ in range(max(2, self.n_companies // 40) if self.n_companies else 0):
            self.orphan_lead()

    def one_company(self, stage: str) -> None:
        rng, d = self.rng, self.data
        industry = rng.choices(INDUSTRIES, _INDUSTRY_WEIGHTS)[0]
        city, state, area, zip3, tz = rng.choices(CITIES, _CITY_WEIGHTS)[0]
        name, slug = self.company_name(industry, city)
        suffixes, category, vehicles, about = INDUSTRY_FLAVOR[industry]
        source = rng.choices(SOURCES, _SOURCE_WEIGHTS)[0]
        size_band = rng.random()
        if size_band < 0.5:
            fleet = rng.randint(2, 9)
        elif size_band < 0.85:
            fleet = rng.randint(10, 30)
        else:
            fleet = rng.randint(31, 120)
        if stage == "WON":
            status = rng.choices(["CUSTOMER", "PARTNER"], [85, 15])[0]
        elif stage == "LOST":
            status = rng.choices(["LEAD", "INACTIVE", "DEAD"], [50, 25, 25])[0]
        elif stage == "BOGUS":
            status = rng.choices(["DEAD", "LEAD"], [70, 30])[0]
        elif stage == "NEW_LEAD":
            status = rng.choices(["LEAD", "CONTACT"], [92, 8])[0]
        else:
            status = "LEAD"
        rep = rng.choice(self.reps) if rng.random() < 0.85 else None
        lead_created = self.ago(rng.uniform(0.02, 120))
        company_created = lead_created - timedelta(days=rng.uniform(0, 20))
        on_google = source == "Google Maps" or rng.random() < 0.55
        place_id = None
        if on_google:
            while place_id is None or place_id in self.place_ids:
                place_id = "ChIJ" + "".join(rng.choice(_PLACE_ID_CHARS) for _ in range(23))
            self.place_ids.add(place_id)
        rating = Decimal(f"{min(5.0, max(2.8, rng.gauss(4.4, 0.4))):.1f}") if on_google else None
        display_phone, _ = self.phone(area)
        icp = ("icp-high-value" if fleet >= 40 else
               "icp-fleet-10-plus" if fleet >= 10 else "icp-small-fleet")
        company = {
            "id": uuid.uuid4(),
            "name": name,
            "normalized_name": normalize_company_name(name),
            "website": f"https://{slug}.example.com" if rng.random() < 0.8 else None,
            "phone": display_phone,
            "industry": industry,
            "icp_tag": icp if rng.random() < 0.7 else None,
            "business_label": category,
            "fleet_size": fleet,
            "google_rating": rating,
            "google_review_count": int(rng.paretovariate(1.2) * 8) if on_google else None,
            "hero_photo_url": None,
            "google_maps_url": (f"https://www.google.com/maps/place/?q=place_id:{place_id}"
                                if place_id else None),
            "about_description": about if on_google and rng.random() < 0.7 else None,
            "google_place_id": place_id,
            "linkedin_company_url": (f"https://www.linkedin.com/company/sample-{slug}"
                                     if rng.random() < 0.3 else None),
            "owner_name": None,
            "source": source,
            "vendor": "Queclink" if status == "CUSTOMER" else None,
            "sales_note": None,
            "taxable": rng.random() < 0.88,
            "assigned_rep_id": rep["id"] if rep else None,
            "qb_customer_id": None,
            "stripe_customer_id": None,
            "status": status,
            "created_at": company_created,
            "updated_at": company_created,
        }
        if status == "CUSTOMER":
            company["qb_customer_id"] = str(40 + len(self.customer_companies))
            if rng.random() < 0.6:
                company["stripe_customer_id"] = "cus_" + "".join(
                    rng.choice(string.ascii_letters + string.digits) for _ in range(14))
        ctx = {"company": company, "slug": slug, "city": city, "state": state, "area": area,
               "zip3": zip3, "tz": tz, "vehicles": vehicles, "industry": industry, "rep": rep}
        d.companies.append(company)
        contacts = self.contacts_for(ctx)
        named = [c for c in contacts if c["first_name"]]
        if named and named[0]["title"] in ("Owner", "Co-Owner", "President"):
            company["owner_name"] = named[0]["full_name"]
        if rng.random() < 0.15:
            company["sales_note"] = rng.choice([
                f"Currently on {rng.choice(COMPETITORS)}, renewal coming up.",
                "Owner only answers before 8am.", "Ask for the fleet manager, not the front desk.",
                "Multiple yards - quote per location.",
            ])
        self.addresses_for(ctx)
        lead = self.lead(ctx, contacts[0], stage, lead_created)
        if status == "CUSTOMER":
            self.customer_companies.append((company, lead))
        # A second pursuit: an upsell for customers, a re-engagement for lost ones.
        if rng.random() < 0.15:
            second = rng.choice(["NEW_LEAD", "HOT", "QUOTED", "BUY_PERIOD_60"]
                                if stage in ("WON", "LOST") else ["NEW_LEAD", "HOT"])
            created = self.between(lead["created_at"], self.now)
            self.lead(ctx, rng.choice(contacts), second, created)
        company["updated_at"] = max([company["created_at"]] + [
            x["updated_at"] for x in d.leads[-2:] if x["company_id"] == company["id"]])

    def contacts_for(self, ctx: dict) -> list[dict]:
        rng, company = self.rng, ctx["company"]
        domain = f"{ctx['slug']}.example.com"
        count = rng.choices([1, 2, 3], [55, 30, 15])[0]
        out = []
        for i in range(count):
            nameless = i == 0 and company["source"] == "Google Maps" and rng.random() < 0.25
            if nameless:
                first = last = full = title = None
                email = self.unique_email(rng.choice(["info", "office", "dispatch"]), domain)
            else:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                full = f"{first} {last}"
                title = rng.choice(TITLES) if i == 0 else rng.choice(TITLES[3:])
                local = rng.choice([first, f"{first}.{last}", f"{first[0]}{last}"])
                email = self.unique_email(local, domain)
            mobile = not nameless and rng.random() < 0.6
            display, e164 = self.phone(ctx["area"])
            status = rng.choices(["valid", "unknown", "risky"], [75, 15, 10])[0]
            created = company["created_at"] + timedelta(hours=rng.uniform(0, 72) * i)
            contact = {
                "id": uuid.uuid4(),
                "company_id": company["id"],
                "first_name": first,
                "last_name": last,
                "full_name": full,
                "title": title,
                "email": email,
                "email_normalized": normalize_email(email),
                "email_status": status,
                "email_verified_at": created + timedelta(minutes=5) if status == "valid" else None,
                "phone": display.removeprefix("+1 ") if rng.random() < 0.5 else display,
                "phone_e164": e164,
                "phone_type": "mobile" if mobile else "landline",
                "phone_verified_at": None,
                "is_sms_eligible": mobile,
                "timezone": ctx["tz"],
                "linkedin_url": (f"https://www.linkedin.com/in/sample-{first.lower()}-"
                                 f"{last.lower()}-{rng.randint(1000, 9999)}"
                                 if first and rng.random() < 0.3 else None),
                "source": company["source"],
                "plusvibe_lead_id": (f"{rng.getrandbits(96):024x}"
                                     if company["source"] == "Plusvibe" else None),
                "notes": None,
                "created_at": created,
                "updated_at": created,
            }
            self.data.contacts.append(contact)
            out.append(contact)
        return out

    def addresses_for(self, ctx: dict) -> None:
        rng, company = self.rng, ctx["company"]

        def address(label: str, type_: str, billing: bool, shipping: bool) -> dict:
            return {
                "id": uuid.uuid4(), "company_id": company["id"], "label": label, "type": type_,
                "address_line1": f"{rng.randint(100, 9899)} {rng.choice(STREETS)}",
                "address_line2": (rng.choice(["Suite 110", "Unit B", "Ste 200", "Bldg 3"])
                                  if rng.random() < 0.2 else None),
                "city": ctx["city"], "state": ctx["state"],
                "zip": f"{ctx['zip3']}{rng.randrange(100):02d}", "country": "US",
                "notes": rng.choice([None, None, None, "Gate code 1234#", "Deliver to the shop "
                                     "in back"]),
                "is_default_billing": billing, "is_default_shipping": shipping,
                "created_at": company["created_at"], "updated_at": company["created_at"],
            }

        rows = self.data.company_addresses
        if rng.random() < 0.7:
            rows.append(address("Main office", "BOTH", True, True))
        else:
            rows.append(address("Office", "BILLING", True, False))
            rows.append(address(rng.choice(["Yard", "Shop", "Warehouse"]), "SHIPPING", False, True))

    # -- leads
    def lead(self, ctx: dict, contact: dict, stage: str, created: datetime) -> dict:
        rng, company = self.rng, ctx["company"]
        rep = ctx["rep"] or rng.choice(self.reps)
        fleet = company["fleet_size"]
        units = max(1, round(fleet * rng.uniform(0.5, 1.0)))
        # The path through the pipeline up to the current stage.
        path = ["NEW_LEAD"]
        if stage != "NEW_LEAD":
            if stage != "BOGUS":
                path += [s for s in ("HOT", "QUALIFIED") if rng.random() < 0.6 and s != stage]
                if stage in ("WON", "BUY_PERIOD_30", "BUY_PERIOD_60") and rng.random() < 0.7:
                    path.append("QUOTED")
            if path[-1] != stage:
                path.append(stage)
        last_change = created
        if len(path) > 1:
            last_change = self.between(created + (self.now - created) * 0.15,
                                       created + (self.now - created) * 0.9)
        changes = sorted(self.between(created, last_change) for _ in path[1:-1]) + (
            [last_change] if len(path) > 1 else [])
        source = company["source"]
        campaign = None
        if source == "Plusvibe":
            campaign = CAMPAIGNS.get(ctx["industry"], "Construction & Rental - West")
        elif source == "Google Maps":
            campaign = f"{ctx['industry'].lower()} near {ctx['city']}, {ctx['state']}"
        elif source == "Trade Show":
            campaign = "Fleet Expo 2026"
        closed = stage in ("WON", "LOST", "BOGUS")
        lead = {
            "id": uuid.uuid4(),
            "company_id": company["id"],
            "contact_id": contact["id"],
            "stage": stage,
            "source": source,
            "source_campaign": campaign,
            "estimated_units": units,
            "estimated_revenue": estimated_revenue(units),
            "lost_reason": (rng.choice(LOST_REASONS) if stage == "LOST" else
                            rng.choice(BOGUS_REASONS) if stage == "BOGUS" else None),
            "won_at": last_change if stage == "WON" else None,
            "lost_at": last_change if stage in ("LOST", "BOGUS") else None,
            "plusvibe_paused": source == "Plusvibe" and stage in ("HOT", "QUALIFIED"),
            "plusvibe_stopped": source == "Plusvibe" and closed,
            "is_dnc": stage == "LOST" and rng.random() < 0.2,
            "created_at": created,
            "updated_at": last_change,
            "stage_changed_at": last_change,
        }
        self.data.leads.append(lead)
        lctx = {**ctx, "lead": lead, "contact": contact, "rep": rep, "units": units,
                "who": contact["first_name"] or "the office"}
        self.lead_history(lctx, path, changes)
        return lead

    def orphan_lead(self) -> None:
        """A Plusvibe reply not yet matched to a company: contact without company_id."""
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, state, area, _, tz = rng.choice(CITIES)
        industry = rng.choice(list(CAMPAIGNS))
        biz = f"{rng.choice(NAME_PREFIXES)} {INDUSTRY_FLAVOR[industry][0][0]}"
        domain = re.sub(r"[^a-z0-9]", "", biz.lower()) + ".example.net"
        email = self.unique_email(f"{first}.{last}", domain)
        display, e164 = self.phone(area)
        created = self.ago(rng.uniform(0.1, 30))
        contact = {
            "id": uuid.uuid4(), "company_id": None, "first_name": first, "last_name": last,
            "full_name": f"{first} {last}", "title": rng.choice(TITLES), "email": email,
            "email_normalized": normalize_email(email), "email_status": "valid",
            "email_verified_at": created, "phone": display, "phone_e164": e164,
            "phone_type": "mobile", "phone_verified_at": None, "is_sms_eligible": True,
            "timezone": tz, "linkedin_url": None, "source": "Plusvibe",
            "plusvibe_lead_id": f"{rng.getrandbits(96):024x}",
            "notes": f"Replied to the campaign for {biz} ({city}, {state}); no company matched yet.",
            "created_at": created, "updated_at": created,
        }
        self.data.contacts.append(contact)
        stage = rng.choice(["NEW_LEAD", "NEW_LEAD", "HOT"])
        units = rng.randint(3, 25)
        lead = {
            "id": uuid.uuid4(), "company_id": None, "contact_id": contact["id"], "stage": stage,
            "source": "Plusvibe", "source_campaign": CAMPAIGNS[industry],
            "estimated_units": units, "estimated_revenue": estimated_revenue(units),
            "lost_reason": None, "won_at": None, "lost_at": None,
            "plusvibe_paused": stage == "HOT", "plusvibe_stopped": False, "is_dnc": False,
            "created_at": created, "updated_at": created, "stage_changed_at": created,
        }
        self.data.leads.append(lead)
        self.activity("lead.created", f"Lead created from Plusvibe reply ({CAMPAIGNS[industry]})",
                      None, lead, None, contact, created, {"source": "Plusvibe"})
        self.lead_last_touch[lead["id"]] = created

    def activity(self, type_: str, summary: str, actor: dict | None, lead: dict | None,
                 company: dict | None, contact: dict | None, when: datetime,
                 detail: dict | None = None) -> None:
        self.data.activities.append({
            "activity_type": type_, "summary": summary,
            "actor": actor["id"] if actor else None,
            "lead": lead["id"] if lead else None,
            "company": company["id"] if company else None,
            "contact": contact["id"] if contact else None,
            "detail": detail, "occurred_at": when,
        })

    def lead_history(self, lctx: dict, path: list[str], changes: list[datetime]) -> None:
        rng, d = self.rng, self.data
        lead, company, contact, rep = lctx["lead"], lctx["company"], lctx["contact"], lctx["rep"]
        created, stage = lead["created_at"], lead["stage"]
        imported = lead["source"] in ("Google Maps", "Plusvibe")
        self.activity("lead.created", f"Lead created from {lead['source']}",
                      None if imported else rep, lead, company, contact, created,
                      {"source": lead["source"], "campaign": lead["source_campaign"]})
        touches = [created]
        for (before, after), when in zip(zip(path, path[1:], strict=False), changes, strict=True):
            actor = self.nick if rng.random() < 0.15 else rep
            self.activity("lead.stage_changed",
                          f"Stage changed from {STAGE_LABELS[before]} to {STAGE_LABELS[after]}",
                          actor, lead, company, contact, when, {"from": before, "to": after})
            touches.append(when)
        # Calls and e-mails: before the close for closed leads, up to now for open ones.
        end = lead["updated_at"] if stage in ("WON", "LOST", "BOGUS") else self.now
        n_touches = rng.randint(0, 2) if stage == "NEW_LEAD" else rng.randint(1, 4)
        fmt = {"who": lctx["who"], "company": company["name"], "units": lctx["units"],
               "vehicles": lctx["vehicles"]}
        for _ in range(n_touches):
            when = self.between(created, end)
            touches.append(when)
            if rng.random() < 0.6:
                self.call(lctx, when)
            else:
                subject = rng.choice(EMAIL_SUBJECTS).format(**fmt)
                self.activity("email.sent", f"E-mail sent: {subject}", rep, lead, company,
                              contact, when, {"subject": subject, "to": contact["email"]})
        # Tags: a disposition matching the stage, an ICP marker, now and then a gate.
        slugs: list[str] = []
        if stage != "NEW_LEAD" or rng.random() < 0.4:
            slugs.append(rng.choice(_DISPOSITIONS_BY_STAGE[stage]))
        if rng.random() < 0.5:
            slugs.append(company["icp_tag"] or rng.choice(ICP_SLUGS))
        if lead["is_dnc"]:
            slugs.append("gate-dnc")
        elif stage in ("QUALIFIED", "QUOTED", "WON") and rng.random() < 0.4:
            slugs.append(rng.choice(["gate-decision-maker", "gate-budget-confirmed"]))
        if lead["source"] == "Trade Show":
            slugs.append("trade-show-2026")
        for slug in dict.fromkeys(slugs):  # unique per lead, order kept
            by_nick = rng.random() < 0.2
            applied = self.between(created, end)
            removed = (self.between(applied, self.now)
                       if slug in ("callback", "no-answer") and rng.random() < 0.15 else None)
            tagger = self.nick if by_nick else rep
            d.lead_tags.append({"id": uuid.uuid4(), "lead_id": lead["id"], "tag_slug": slug,
                                "applied_at": applied, "applied_by": tagger["email"],
                                "removed_at": removed})
            # As app.crm.tags writes them: the tag's name in the summary, the slug in detail.
            name, category = _TAG_NAMES[slug]
            self.activity("tag.applied", f"Tagged {name}", tagger, lead, company, contact,
                          applied, {"tag": slug, "category": category})
            if removed is not None:
                self.activity("tag.removed", f"Removed tag {name}", tagger, lead, company,
                              contact, removed, {"tag": slug})
        self.notes_for(lctx, created, end)
        sms_odds = {"QUALIFIED": 0.6, "HOT": 0.35, "QUOTED": 0.35, "BUY_PERIOD_30": 0.2}.get(
            stage, 0.0)
        if contact["is_sms_eligible"] and rng.random() < sms_odds:
            touches.append(self.sms_thread(lctx))
        self.lead_last_touch[lead["id"]] = max(touches)

    def call(self, lctx: dict, when: datetime) -> None:
        rng = self.rng
        lead, contact, rep = lctx["lead"], lctx["contact"], lctx["rep"]
        outcome = rng.choices(["CONNECTED", "NO_ANSWER", "VOICEMAIL", "BUSY", "WRONG_NUMBER"],
                              [35, 30, 25, 6, 4 if lead["stage"] == "BOGUS" else 0])[0]
        duration = {"CONNECTED": rng.randint(60, 900), "VOICEMAIL": rng.randint(20, 45),
                    "BUSY": 0, "NO_ANSWER": 0, "WRONG_NUMBER": rng.randint(10, 30)}[outcome]
        inbound = outcome == "CONNECTED" and rng.random() < 0.15
        notes = {"CONNECTED": f"Spoke with {lctx['who']} about {lctx['units']} units.",
                 "VOICEMAIL": "Left a voicemail.", "NO_ANSWER": None, "BUSY": None,
                 "WRONG_NUMBER": "Number reaches someone else."}[outcome]
        log_id = uuid.uuid4()
        self.data.call_logs.append({
            "id": log_id, "lead_id": lead["id"], "contact_id": contact["id"],
            "direction": "INBOUND" if inbound else "OUTBOUND", "duration_seconds": duration,
            "outcome": outcome, "notes": notes, "recording_url": None, "transcript": None,
            "voicemail_dropped": outcome == "VOICEMAIL" and rng.random() < 0.5,
            "provider": "manual", "created_at": when,
        })
        label = outcome.replace("_", " ").lower()
        summary = (f"Inbound call from {lctx['who']} ({duration // 60} min)" if inbound
                   else f"Call to {lctx['who']}: {label}")
        self.activity("call.logged", summary, rep, lead, lctx["company"], contact, when,
                      {"outcome": outcome, "duration_seconds": duration, "call_log_id": log_id,
                       "direction": "INBOUND" if inbound else "OUTBOUND"})

    def notes_for(self, lctx: dict, start: datetime, end: datetime) -> None:
        rng = self.rng
        lead, company, rep = lctx["lead"], lctx["company"], lctx["rep"]
        n = rng.choices([0, 1, 2, 3], [55, 25, 15, 5] if lead["stage"] == "NEW_LEAD"
                        else [15, 40, 30, 15])[0]
        for template in rng.sample(NOTE_TEMPLATES, n):
            body = template.format(
                who=lctx["who"], fleet=company["fleet_size"], vehicles=lctx["vehicles"],
                competitor=rng.choice(COMPETITORS), months=rng.randint(1, 14),
                comp_price=rng.choice(["29", "32", "35", "38", "45"]), units=lctx["units"],
                industry=lctx["industry"].lower(),
                asset=rng.choice(["trailer", "skid steer", "generator", "work truck"]))
            self.note(lctx, body, self.between(start, end),
                      self.nick if rng.random() < 0.1 else rep)
        if lead["stage"] == "WON" and company["status"] == "CUSTOMER":
            body = rng.choice(CUSTOMER_NOTES).format(units=lctx["units"])
            self.note(lctx, body, self.between(lead["updated_at"], self.now), rep)

    def note(self, lctx: dict, body: str, when: datetime, author: dict) -> None:
        edited = when + timedelta(minutes=self.rng.randint(2, 90)) if self.rng.random() < 0.1 \
            else None
        self.data.notes.append({
            "id": uuid.uuid4(), "company_id": lctx["company"]["id"], "lead_id": lctx["lead"]["id"],
            "author_id": author["id"], "body": body, "created_at": when,
            "edited_at": min(edited, self.now) if edited else None,
        })
        self.activity("note.added", f"Note: {body[:80]}", author, lctx["lead"], lctx["company"],
                      lctx["contact"], when, None)

    def sms_thread(self, lctx: dict) -> datetime:
        """A short SMS exchange and its unified-inbox conversation; returns the last time."""
        rng = self.rng
        lead, contact, rep = lctx["lead"], lctx["contact"], lctx["rep"]
        ours = _REP_SMS_NUMBERS.get(rep["email"], "+14085550100")
        length = rng.randint(2, len(SMS_THREADS))
        when = self.between(lead["created_at"], self.now - timedelta(hours=2))
        last_body = ""
        for direction, template in SMS_THREADS[:length]:
            when = min(when + timedelta(minutes=rng.randint(3, 600)), self.now)
            body = template.format(first=contact["first_name"] or "there",
                                   rep=rep["first_name"], vehicles=lctx["vehicles"],
                                   units=lctx["units"])
            outbound = direction == "OUTBOUND"
            self.data.sms_messages.append({
                "id": uuid.uuid4(), "lead_id": lead["id"], "contact_id": contact["id"],
                "direction": direction,
                "from_number": ours if outbound else contact["phone_e164"],
                "to_number": contact["phone_e164"] if outbound else ours, "body": body,
                "provider": "android_gateway",
                "provider_message_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "status": "DELIVERED", "sent_at": when,
                "created_at": when,
            })
            self.activity("sms.sent" if outbound else "sms.received",
                          f"SMS {'to' if outbound else 'from'} {lctx['who']}: {body[:60]}",
                          rep if outbound else None, lead, lctx["company"], contact, when,
                          {"body": body})
            last_body = body
        last_inbound = SMS_THREADS[length - 1][0] == "INBOUND"
        self.data.conversations.append({
            "id": uuid.uuid4(), "lead_id": lead["id"], "contact_id": contact["id"],
            "user_id": rep["id"], "channel": "SMS", "last_message_at": when,
            "last_message_preview": last_body[:140],
            "unread_count": 1 if last_inbound and rng.random() < 0.6 else 0,
            "is_archived": False, "created_at": lead["created_at"], "updated_at": when,
            "awaiting_reply": last_inbound, "last_kind": "sms",  # the inbox's Needs reply
        })
        return when

    # -- scores and tasks
    def scores(self) -> None:
        """Which leads the AI agent scored, and when (a few hours after the lead's last
        touch; one in five says so on the timeline). The values come from the app's own
        scoring rules over the finished timeline (`finish_leads`), as the scoring job
        would write them: the header score and the last "Scored" activity agree."""
        rng = self.rng
        self.scored: dict[uuid.UUID, tuple[datetime, bool]] = {}
        for lead in self.data.leads:
            if lead["stage"] == "NEW_LEAD" and rng.random() < 0.35:
                continue
            last = self.lead_last_touch[lead["id"]]
            scored = min(self.now, last + timedelta(hours=rng.uniform(0.1, 6)))
            self.scored[lead["id"]] = (scored, rng.random() < 0.2)

    def finish_leads(self) -> None:
        """What production derives from the activities, derived the same way: each lead's
        last_activity_at (the activities trigger's rule) and its score (app.crm.scoring)."""
        by_lead: dict[uuid.UUID, list[dict]] = {}
        for item in self.data.activities:
            if item["lead"] is not None:
                by_lead.setdefault(item["lead"], []).append(item)
        companies = {c["id"]: c for c in self.data.companies}
        for lead in self.data.leads:
            items = by_lead.setdefault(lead["id"], [])
            scored = self.scored.get(lead["id"])
            if scored is not None:
                when, announced = scored
                announcement = None
                if announced:
                    self.activity("lead.scored", "Scored", self.ai_agent, lead, None, None, when)
                    announcement = self.data.activities[-1]
                    items.append(announcement)
                company = companies.get(lead["company_id"]) or {}
                recent = [a for a in items if a["occurred_at"] >= self.now - ENGAGEMENT_WINDOW]
                contacts = [a["occurred_at"] for a in items if a["activity_type"] in CONTACT_TYPES]
                rating = company.get("google_rating")
                score = compute(Inputs(
                    stage=LeadStage(lead["stage"]), fleet_size=company.get("fleet_size"),
                    industry=company.get("industry"),
                    google_rating=float(rating) if rating is not None else None,
                    recent_activities=len(recent),
                    recent_contacts=sum(1 for a in recent if a["activity_type"] in CONTACT_TYPES),
                    last_contact_at=max(contacts, default=None)), self.now)
                self.data.lead_scores.append({
                    "id": uuid.uuid4(), "lead_id": lead["id"], "quality_score": score.quality,
                    "engagement_score": score.engagement, "deal_risk": score.risk.value,
                    "last_interaction_at": score.last_interaction_at,
                    "days_since_contact": score.days_since_contact, "updated_at": when,
                })
                if announcement is not None:
                    announcement["summary"] = (
                        f"Scored: quality {score.quality}, engagement {score.engagement}, "
                        f"risk {score.risk.value.lower()}")
                    announcement["detail"] = {"quality": score.quality,
                                              "engagement": score.engagement,
                                              "deal_risk": score.risk.value}
            lead["last_activity_at"] = max([lead["created_at"], *(a["occurred_at"] for a in items)])

    def tasks(self) -> None:
        rng = self.rng
        companies = {c["id"]: c for c in self.data.companies}
        contacts = {c["id"]: c for c in self.data.contacts}
        reps_by_id = {r["id"]: r for r in self.reps}
        self.open_leads: dict[uuid.UUID, list[dict]] = {r["id"]: [] for r in self.reps}
        for i, lead in enumerate(self.data.leads):
            company = companies.get(lead["company_id"])
            rep = reps_by_id.get(company["assigned_rep_id"]) if company else None
            rep = rep or self.reps[i % len(self.reps)]
            if lead["stage"] in OPEN_STAGES and not lead["is_dnc"]:
                self.open_leads[rep["id"]].append(lead)
                if rng.random() < 0.55:
                    bucket = rng.choices(["overdue", "today", "upcoming", "someday"],
                                         [22, 18, 52, 8])[0]
                    self.task(lead, company, contacts[lead["contact_id"]], rep, bucket)
            if lead["stage"] != "NEW_LEAD" and rng.random() < 0.45:
                self.task(lead, company, contacts[lead["contact_id"]], rep, "completed")
        if self.nick and self.data.leads:
            for bucket in ("overdue", "today", "upcoming"):
                lead = rng.choice(self.data.leads)
                self.task(lead, companies.get(lead["company_id"]),
                          contacts[lead["contact_id"]], self.nick, bucket)
        # Every rep gets a real to-do list: some overdue, due today, upcoming and done.
        for rep in self.reps:
            pool = self.open_leads[rep["id"]] or [ld for ld in self.data.leads]
            if not pool:
                continue
            for bucket in ("overdue", "today", "upcoming", "completed"):
                have = sum(1 for t in self.data.tasks
                           if t["assigned_to_id"] == rep["id"] and t["_bucket"] == bucket)
                for _ in range(max(0, 3 - have)):
                    lead = rng.choice(pool)
                    self.task(lead, companies.get(lead["company_id"]),
                              contacts[lead["contact_id"]], rep, bucket)
        for t in self.data.tasks:
            del t["_bucket"]

    def task(self, lead: dict, company: dict | None, contact: dict, user: dict,
             bucket: str) -> None:
        rng, now = self.rng, self.now
        type_ = rng.choices(list(TASK_TITLES), [35, 20, 10, 25, 10])[0]
        title = rng.choice(TASK_TITLES[type_]).format(
            who=contact["first_name"] or "the office",
            company=company["name"] if company else "them", units=lead["estimated_units"])
        start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        completed_at = None
        if bucket == "overdue":
            due = start_of_day - timedelta(days=rng.randint(1, 9)) + timedelta(
                hours=rng.randint(14, 23), minutes=rng.choice([0, 15, 30, 45]))
        elif bucket == "today":  # between now and midnight UTC (what "today" means in the app)
            due = now + (start_of_day + timedelta(days=1) - now) * rng.uniform(0.25, 0.9)
            if due.replace(second=0, microsecond=0) > now:
                due = due.replace(second=0, microsecond=0)
        elif bucket == "upcoming":
            due = start_of_day + timedelta(days=rng.randint(1, 14), hours=rng.randint(14, 23),
                                           minutes=rng.choice([0, 15, 30, 45]))
        elif bucket == "completed":
            due = self.between(lead["created_at"], now).replace(second=0, microsecond=0)
            completed_at = min(now, due + timedelta(hours=rng.uniform(-20, 30)))
            completed_at = max(completed_at, lead["created_at"])
        else:
            due = None
        created = min(lead["created_at"] + timedelta(hours=rng.uniform(0, 48)), now)
        if due is not None and bucket != "completed":
            created = min(created, due)
        self.data.tasks.append({
            "id": uuid.uuid4(), "lead_id": lead["id"],
            "company_id": company["id"] if company else None, "assigned_to_id": user["id"],
            "title": title,
            "description": (rng.choice(["Asked us to call after 3pm.", "Has the quote already.",
                                        "Wants to include the two new trailers.",
                                        "Decision maker is the owner's son."])
                            if rng.random() < 0.3 else None),
            "task_type": type_,
            "priority": rng.choices(["URGENT", "HIGH", "NORMAL", "LOW"], [5, 20, 60, 15])[0],
            "due_at": due, "calendar_event_id": None,
            "duration_min": rng.choice([15, 30]) if type_ == "CALL" else None,
            "completed_at": completed_at, "is_completed": completed_at is not None,
            "sequence_run_id": None, "sequence_step_number": None,
            "created_at": created, "updated_at": completed_at or created, "_bucket": bucket,
        })
        if completed_at is not None:
            self.activity("task.completed", f"Task completed: {title}", user, lead, company,
                          contact, completed_at, {"task_type": type_})

    # -- inventory
    def inventory(self) -> None:
        rng, d = self.rng, self.data
        n = max(30, round(self.n_companies * 0.6)) if self.n_companies else 0
        carriers = [name for _, name in CARRIERS]
        iccids: set[str] = set()
        for _ in range(n):
            carrier = rng.choices(carriers, [45, 30, 25])[0]
            prefix, length = ICCID_FORMATS[carrier]
            while True:
                body = prefix + "".join(rng.choice(string.digits)
                                        for _ in range(length - 1 - len(prefix)))
                iccid = body + luhn_check_digit(body)
                if iccid not in iccids:
                    break
            iccids.add(iccid)
            area = rng.choice(CITIES)[2]
            received = self.ago(rng.uniform(5, 240))
            d.sim_cards.append({
                "id": uuid.uuid4(), "iccid": iccid, "phone_number": self.phone(area)[1],
                "carrier": carrier, "status": "IN_STOCK", "activated_at": None,
                "created_at": received, "updated_at": received,
            })
        imeis: set[str] = set()
        sequence = dict.fromkeys((m for m, _, _ in DEVICE_MODELS), 0)
        for _ in range(n):
            model, tac, _w = rng.choices(DEVICE_MODELS, [w for _, _, w in DEVICE_MODELS])[0]
            while True:
                body = tac + "".join(rng.choice(string.digits) for _ in range(6))
                imei = body + luhn_check_digit(body)
                if imei not in imeis:
                    break
            imeis.add(imei)
            sequence[model] += 1
            received = self.ago(rng.uniform(5, 240))
            d.devices.append({
                "id": uuid.uuid4(),
                "serial_number": f"{model}-{received:%y%m}-{sequence[model] + 100:06d}",
                "imei": imei, "model": model, "status": "IN_STOCK", "company_id": None,
                "invoice_id": None, "sim_card_id": None, "activation_date": None,
                "tracking_active": False, "notes": None, "created_at": received,
                "updated_at": received,
            })
        free_sims = list(d.sim_cards)
        rng.shuffle(free_sims)

        def pair(device: dict, sim_status: str, activated: datetime | None = None) -> None:
            if not free_sims:
                return
            sim = free_sims.pop()
            device["sim_card_id"] = sim["id"]
            sim["status"] = sim_status
            sim["activated_at"] = activated
            sim["updated_at"] = max(sim["created_at"], activated or device["updated_at"])

        # Customers' devices: activated when won a while ago, shipped or assigned when recent.
        stock = list(d.devices)
        rng.shuffle(stock)
        budget = len(stock) // 4
        for company, lead in self.customer_companies:
            if budget <= 0:
                break
            won = lead["won_at"] or lead["updated_at"]
            count = min(budget, lead["estimated_units"], rng.randint(2, 8))
            for _ in range(count):
                device = stock.pop()
                budget -= 1
                age = (self.now - won).days
                status = "ACTIVATED" if age > 7 else "SHIPPED" if age > 2 else "ASSIGNED"
                device["company_id"] = company["id"]
                device["status"] = status
                device["updated_at"] = max(device["created_at"], won)
                if status == "ACTIVATED":
                    activated = min(self.now, won + timedelta(days=rng.uniform(3, 7)))
                    device["activation_date"] = activated.date()
                    device["tracking_active"] = True
                    device["updated_at"] = max(device["created_at"], activated)
                    pair(device, "ACTIVE", activated)
                else:
                    pair(device, "ASSIGNED")
            if budget > 0 and rng.random() < 0.1 and stock:
                device = stock.pop()
                budget -= 1
                device.update(company_id=company["id"], status="RETURNED",
                              notes="Returned: customer downsized the fleet.")
                pair(device, "DEACTIVATED")
        for device in stock[:max(1, len(stock) // 100)]:
            device.update(status="DEFECTIVE", notes="Will not power on; RMA to Queclink.")
        stock = stock[max(1, len(stock) // 100):]
        # Some warehouse kits are pre-paired; the SIM stays in stock with its device.
        for device in stock[: int(len(stock) * 0.4)]:
            pair(device, "IN_STOCK")
        for sim in free_sims[: len(free_sims) // 30]:
            sim["status"] = "DEACTIVATED"

    def run(self) -> DemoData:
        self.users()
        self.reference()
        self.companies()
        self.scores()
        self.tasks()
        self.finish_leads()
        self.inventory()
        self.data.activities.sort(key=lambda a: a["occurred_at"])
        return self.data


def generate(companies: int = 500, seed: int = SEED, now: datetime | None = None) -> DemoData:
    """Build the demo rows without touching the database (deterministic for a given `now`)."""
    return _Generator(companies, seed, now or datetime.now(UTC)).run()


# -------------------------------------------------------------------- loading

def _models() -> dict[str, Any]:
    return {
        "users": User, "taxonomy_values": TaxonomyValue, "tags": Tag, "products": Product,
        "tax_rates": TaxRate, "backends": Backend, "carriers": Carrier,
        "shipping_types": ShippingType, "payment_terms": PaymentTerm,
        "contract_terms": ContractTerm, "agreement_templates": AgreementTemplate,
        "settings": Setting, "companies": Company, "contacts": Contact,
        "company_addresses": CompanyAddress, "leads": Lead, "lead_tags": LeadTag,
        "lead_scores": LeadScore, "notes": Note, "tasks": Task, "call_logs": CallLog,
        "conversations": Conversation, "sms_messages": SmsMessage, "sim_cards": SimCard,
        "devices": Device,
    }


def _enum_columns(model) -> dict[str, type]:
    """Attribute name -> Python enum class, for the model's Enum columns."""
    out = {}
    for prop in model.__mapper__.column_attrs:
        column_type = prop.columns[0].type
        if isinstance(column_type, SAEnum) and column_type.enum_class is not None:
            out[prop.key] = column_type.enum_class
    return out


def load_demo_data(companies: int = 500, if_empty: bool = False, seed: int = SEED,
                   now: datetime | None = None) -> dict[str, int] | None:
    """Load the demo (dated relative to `now`, the wall clock by default) and commit.
    With `if_empty`, do nothing (None) when any user exists."""

    if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        return None
    now = now or datetime.now(UTC)
    data = generate(companies=companies, seed=seed, now=now)
    # argon2 is slow on purpose: hash each demo password once, in parallel (it drops the GIL).
    with ThreadPoolExecutor(max_workers=len(data.users)) as pool:
        hashes = list(pool.map(lambda u: hash_password(u["password"]) if u["password"]
                               else unusable_password(), data.users))
    users = [{**{k: v for k, v in u.items() if k != "password"}, "password_hash": h}
             for u, h in zip(data.users, hashes, strict=True)]
    tables = data.tables()
    tables["users"] = users
    activities = tables.pop("activities")
    for name, model in _models().items():
        rows = tables[name]
        if not rows:
            continue
        enums = _enum_columns(model)
        if enums:
            rows = [{k: (enums[k](v) if k in enums and isinstance(v, str) else v)
                     for k, v in row.items()} for row in rows]
        # Devices point at SIM cards, leads at contacts, ...: _models() is in FK order.
        # render_nulls: every row names every column, so all rows go in one batched
        # statement (without it the ORM splits the batch wherever a value is None).
        statement = insert(model).execution_options(render_nulls=True)
        for start in range(0, len(rows), 2000):
            db.session.execute(statement, rows[start:start + 2000])
    for item in activities:
        record(item["activity_type"], item["summary"], actor=item["actor"], lead=item["lead"],
               company=item["company"], contact=item["contact"], detail=item["detail"],
               occurred_at=item["occurred_at"])
    db.session.commit()
    counts = data.counts()

    before = db.session.scalar(select(func.count()).select_from(Activity))
    counts["invoices"] = _demo_invoices(seed)
    _demo_sms_gateways()
    counts["message_templates"] = _demo_canned_replies()
    _demo_sequences()
    tasks_before = db.session.scalar(select(func.count()).select_from(Task))
    counts["inbox_items"] = _demo_inbox_items(now)
    counts["tasks"] += db.session.scalar(select(func.count()).select_from(Task)) - tasks_before  # meetings
    counts["activities"] += db.session.scalar(select(func.count()).select_from(Activity)) - before
    db.session.commit()
    return counts


def _demo_sms_gateways() -> None:
    """A phone per sales user (their own number), so texting works with the outbox backend
    on a fresh clone (the outbox never calls the gateway's address)."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.extensions import db
    from app.inbox.sms.services import save_gateway

    for email, (first, _, phone) in _USER_PEOPLE.items():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None or user.role.value not in ("ADMIN", "NICK", "REP"):
            continue
        save_gateway(None, user_id=user.id, label=f"{first}'s phone", gateway_url="https://api.sms-gate.app/3rdparty/v1",
                     username=email.split("@")[0], password="demo-gateway-pass", from_number=phone, is_active=True)


def _demo_invoices(seed: int) -> int:
    """A few invoices made through the real services, so every screen has something:
    a draft, one sent and waiting, one signed and paid (its devices wait in the warehouse)."""

    rng = random.Random(seed + 7)
    rep = db.session.scalar(select(User).where(User.role == UserRole.REP).order_by(User.email))
    tracker = db.session.scalar(select(Product).where(Product.sku == "GL300"))
    service = db.session.scalar(select(Product).where(Product.sku == "SVC-MONTHLY"))
    shipping = db.session.scalar(select(ShippingType).order_by(ShippingType.sort_order))
    tax = db.session.scalar(select(TaxRate).where(TaxRate.rate > 0).order_by(TaxRate.sort_order))
    customers = db.session.scalars(
        select(Company).where(Company.status == CompanyStatus.CUSTOMER,
                              Company.id.in_(select(Contact.company_id).where(Contact.email.is_not(None))))
        .order_by(Company.name).limit(3)).all()
    if rep is None or tracker is None or service is None or len(customers) < 3:
        return 0
    for n, company in enumerate(customers):
        units = rng.randint(3, 8)
        invoice = invoices.create_invoice(company, actor=rep)
        invoices.add_line(invoice, actor=rep, product=tracker, quantity=units, unit_price=tracker.unit_price)
        invoices.add_line(invoice, actor=rep, product=service, quantity=units, unit_price=service.unit_price)
        invoices.update_invoice_terms(
            invoice, actor=rep, tax_rate=tax if company.taxable else None, shipping_type=shipping,
            shipping_cost=shipping.default_cost if shipping else None, payment_term=invoice.payment_term,
            contract_term=invoice.contract_term, backend=invoice.backend, carrier=invoice.carrier,
            agreement_template=invoice.agreement_template, bill_to=invoice.bill_to_address,
            ship_to=invoice.ship_to_address, notes=None, due_date=invoice.due_date)
        recompute_invoice(invoice)
        if n >= 1:  # sent (the link is e-mailed through the outbox job)
            from app.billing.sending import send_invoice

            send_invoice(invoice, actor=rep)
        if n == 2:  # the customer signed, then paid by check: its devices go to the warehouse
            agreement, content, _ = signing.shown_hashes(invoice)
            signing.sign_invoice(invoice, name=company.contacts[0].full_name or "Customer", consent=True,
                                 ip_addr="203.0.113.7", user_agent="demo", agreement_sha256=agreement,
                                 content_sha256_shown=content)
            payments.record_manual_payment(invoice, actor=rep, amount=invoice.balance_due,
                                           method=PaymentMethod.CHECK, reference=f"Check #{rng.randint(1000, 9999)}")
    db.session.flush()
    return len(customers)


__all__ = [
    "DEMO_LOGINS",
    "DemoData",
    "estimated_revenue",
    "generate",
    "load_demo_data",
    "luhn_check_digit",
    "luhn_valid",
]


DEMO_CANNED_REPLIES = (
    ("Follow-up after the call", "EMAIL", "Following up on GPS tracking for {{ company.name }}",
     "Hi {{ contact.first_name | default(\"there\") }},\n\nThanks for taking the time to talk today. As promised, "
     "here is a quick recap: our GL300 trackers report every 60 seconds, install in minutes and come with "
     "the fleet app for your dispatchers.\n\nWould a short demo this week help your team decide?\n\n"
     "{{ rep.full_name }}\n{{ rep.phone | default(\"GPS Leaders\") }}"),
    ("Pricing", "EMAIL", "GPS Leaders pricing for {{ company.name }}",
     "Hi {{ contact.first_name | default(\"there\") }},\n\nOur pricing is simple: $79 per GL300 tracker, "
     "one time, and $24.95 per vehicle per month for live tracking, history and alerts. No contract "
     "longer than you want, and volume pricing from 25 vehicles.\n\nHappy to put a quote together.\n\n"
     "{{ rep.full_name }}"),
    ("Invoice payment reminder", "EMAIL", "Invoice {{ invoice.number }}: payment link",
     "Hi {{ contact.first_name | default(\"there\") }},\n\nA friendly reminder that invoice "
     "{{ invoice.number }} has {{ invoice.balance_due }} due. You can review, sign and pay it here:\n"
     "{{ invoice.pay_url }}\n\nWe ship the trackers as soon as it is paid.\n\n{{ rep.full_name }}"),
    ("SMS check-in", "SMS", None,
     "Hi {{ contact.first_name | default(\"there\") }}, it's {{ rep.first_name }} from GPS Leaders. "
     "Any questions about the trackers for {{ company.name }}? Happy to help."),
    ("SMS pay link", "SMS", None,
     "Hi {{ contact.first_name | default(\"there\") }}, here's the link for invoice {{ invoice.number }} "
     "({{ invoice.balance_due }}): {{ invoice.pay_url }} - {{ rep.first_name }}"),
)


def _demo_canned_replies() -> int:
    """The canned replies reps start with, saved through the templates service (checked as
    Settings checks them)."""
    from sqlalchemy import select

    from app.auth.models import User, UserRole
    from app.extensions import db
    from app.inbox.canned.services import save_template
    from app.inbox.models import TemplateCategory, TemplateChannel

    admin = db.session.scalar(select(User).where(User.role == UserRole.ADMIN).order_by(User.created_at).limit(1))
    for name, channel, subject, body in DEMO_CANNED_REPLIES:
        save_template(None, name=name, channel=TemplateChannel(channel), subject=subject, body=body,
                      category=TemplateCategory.CANNED, actor=admin)
    return len(DEMO_CANNED_REPLIES)


def _demo_sequences():
    """A sequence for the "Interested" tag (e-mail, wait, SMS, wait, call), made through the
    services as Settings makes it: tagging a lead "Interested" starts it (no run is started
    here: a run's activities are dated now, the demo's history is not)."""
    from sqlalchemy import select

    from app.auth.models import User, UserRole
    from app.extensions import db
    from app.inbox.canned.services import save_template
    from app.inbox.models import TemplateCategory, TemplateChannel
    from app.sequences.definitions import DEFAULT_WINDOW, save_definition

    admin = db.session.scalar(select(User).where(User.role == UserRole.ADMIN).order_by(User.created_at).limit(1))
    email = save_template(None, name="Interested: pricing", channel=TemplateChannel.EMAIL,
                          category=TemplateCategory.SEQUENCE, subject="GPS trackers for {{ company.name }}",
                          body='Hi {{ contact.first_name | default("there") }},\n\nThanks for your interest. Our '
                               "trackers are $79 each with live tracking at $15 a month.\n\n{{ rep.full_name }}",
                          actor=admin)
    sms = save_template(None, name="Interested: nudge", channel=TemplateChannel.SMS,
                        category=TemplateCategory.SEQUENCE,
                        body='Hi {{ contact.first_name | default("there") }}, it\'s {{ rep.first_name }} from GPS '
                             "Leaders: did my pricing e-mail reach you?", actor=admin)
    return save_definition(None, name="Interested: follow-up", tag_slug="interested",
                           description="Pricing e-mail, a text two days later, then a call.", is_active=True,
                           window=dict(DEFAULT_WINDOW), actor=admin,
                           steps=[{"type": "email", "template_id": str(email.id)},
                                  {"type": "wait", "amount": 2, "unit": "business_days"},
                                  {"type": "sms", "template_id": str(sms.id)},
                                  {"type": "wait", "amount": 1, "unit": "business_days"},
                                  {"type": "call", "text": "Ask how many vehicles they run"}])


def _demo_inbox_items(now: datetime) -> int:
    """What a rep's inbox holds besides texts on a real morning, made through the services the
    webhooks and the dialer call (so each looks exactly as a live one would): a missed call and a
    voicemail from the demo rep's leads, a Cal.com booking by one of their contacts, and an
    e-mail and a booking from people the CRM does not know yet (the Unmatched tab)."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.crm.models import Company, Contact, Lead, LeadStage
    from app.crm.scoring.services import score_leads
    from app.extensions import db
    from app.inbox.bookings.services import apply_calcom_event
    from app.inbox.calls.services import log_call
    from app.inbox.email.services import ingest_inbound_email
    from app.inbox.models import CallOutcome, MessageDirection

    rep = db.session.scalar(select(User).where(User.email == "rep@example.com"))
    if rep is None:
        return 0
    leads = db.session.scalars(
        select(Lead).join(Company, Company.id == Lead.company_id).join(Contact, Contact.id == Lead.contact_id)
        .where(Company.assigned_rep_id == rep.id, Lead.stage.in_([LeadStage.HOT, LeadStage.QUALIFIED,
                                                                  LeadStage.QUOTED]),
               Lead.is_dnc.is_(False), Contact.email_normalized.is_not(None),
               # a lead whose score was announced keeps the header equal to that announcement
               ~select(Activity.id).where(Activity.lead_id == Lead.id,
                                          Activity.activity_type == "lead.scored").exists())
        .order_by(Lead.last_activity_at.desc().nulls_last(), Lead.id).limit(3)).all()
    made = 0
    if len(leads) >= 2:
        log_call(leads[0], actor=None, direction=MessageDirection.INBOUND, outcome=CallOutcome.NO_ANSWER)
        log_call(leads[1], actor=None, direction=MessageDirection.INBOUND, outcome=CallOutcome.VOICEMAIL,
                 duration_seconds=38, notes="Wants a price for 12 trackers before Friday")
        made += 2
    tomorrow = (now + timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)

    def booking(uid: str, email: str, name: str, start: datetime) -> dict:
        return {"triggerEvent": "BOOKING_CREATED", "createdAt": now.isoformat(), "payload": {
            "uid": uid, "type": "fleet-demo", "title": f"Fleet tracking demo with {name}",
            "eventTitle": "Fleet tracking demo", "startTime": start.isoformat(),
            "endTime": (start + timedelta(minutes=30)).isoformat(),
            "organizer": {"email": rep.email, "name": f"{rep.first_name} {rep.last_name}"},
            "attendees": [{"email": email, "name": name, "timeZone": "America/Chicago"}],
            "metadata": {"videoCallUrl": "https://meet.example.com/demo-fleet"}}}

    if len(leads) == 3:
        contact = leads[2].contact
        apply_calcom_event(booking("demo-booking-known", contact.email, contact.full_name or contact.email, tomorrow),
                           received_at=now)
        made += 1
    apply_calcom_event(booking("demo-booking-unknown", "ops@rivercity-haulers.example.com", "Dana Whitfield",
                               tomorrow + timedelta(days=1)), received_at=now)
    ingest_inbound_email("ops@rivercity-haulers.example.com", "sales@example.com", "Trackers for 20 trucks?",
                         "Hi, we run 20 trucks out of Tulsa and are looking at GPS trackers. "
                         "What would 20 units with SIM cards cost per month?\n\nDana Whitfield\nRiver City Haulers",
                         message_id="<demo-unmatched-1@rivercity-haulers.example.com>", received_at=now)
    made += 2
    db.session.flush()
    # the calls changed these leads' engagement: score them as the scoring job would at `now`
    score_leads([lead.id for lead in leads], now=now)
    return made
