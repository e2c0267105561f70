"""CSV import of companies, contacts and leads (Google Maps scrapes, Plusvibe exports).

The flow: `read_upload()` decodes and parses the uploaded bytes (or raises
`UploadRejected` with a message for the user); `UploadStore` keeps the decoded
CSV in Redis under a random token for an hour, with its metadata (header,
detected source, column mapping) and the state of its preview and run;
`Importer` turns rows into records, batch by batch, deduplicating every row
against the database *and* the rows before it in the file:

- a company by `google_place_id`, then by `normalized_name`;
- a contact by `email_normalized`, then by `phone_e164` *within the row's company*: a
  business phone names a company, not a person, so the same number at another company
  is another contact (issue 9: a Google Maps row's lead went to another company's person);
- a lead is created for a contact that has no open lead (any stage but WON,
  LOST, BOGUS), so importing the same file twice creates nothing the second time.

A matched record is never overwritten: only its empty fields are filled.

An industry is stored as the Industry list value it means ("towing services" ->
"Towing", `closest_taxonomy_value`); a value is added to the list only when none is
close. New companies get the reps the importer chose, in turn (round-robin). Every
created company and lead has an "*.imported" activity naming the import's token: the
result page links to the companies and leads lists filtered by it (`?import=`).

The dry run (preview) is the same code with `dry_run=True`: it reads, never
writes. Why Redis for the file and not instance/imports/: the job may run on
another machine than the web process (N workers on any number of hosts), Redis
is already shared by both, and its TTL cleans up abandoned uploads for free.
"""
from __future__ import annotations

import csv
import io
import json
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, insert, select, text

from app.activity.models import Activity
from app.activity.services import activity_values, record_many
from app.crm.models import (
    AddressType,
    Company,
    CompanyAddress,
    CompanyStatus,
    Contact,
    Lead,
    LeadStage,
    TaxonomyType,
    TaxonomyValue,
)
from app.crm.records.normalize import (
    closest_taxonomy_value,
    normalize_company_name,
    normalize_email,
    normalize_us_state,
    phone_to_e164,
)
from app.extensions import db

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
UPLOAD_TTL_SECONDS = 3600
RESULT_TTL_SECONDS = 24 * 3600
BATCH_SIZE = 500
# Up to this many rows the preview runs inside the request; above, as a job.
SYNC_PREVIEW_MAX_ROWS = 2000
MAX_LISTED = 50  # rejected rows (and notes) kept with their reason
CLOSED_STAGES = (LeadStage.WON, LeadStage.LOST, LeadStage.BOGUS)


class UploadRejected(Exception):
    """The upload cannot be imported; `message` says why, for the user."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class ImportField:
    key: str
    label: str
    group: str


FIELDS: tuple[ImportField, ...] = (
    ImportField("company_name", "Company name", "Company"),
    ImportField("website", "Website", "Company"),
    ImportField("company_phone", "Company phone", "Company"),
    ImportField("industry", "Industry / category", "Company"),
    ImportField("fleet_size", "Fleet size", "Company"),
    ImportField("google_place_id", "Google place ID", "Company"),
    ImportField("google_rating", "Google rating", "Company"),
    ImportField("google_review_count", "Google reviews", "Company"),
    ImportField("google_maps_url", "Google Maps link", "Company"),
    ImportField("hero_photo_url", "Photo", "Company"),
    ImportField("about_description", "Description", "Company"),
    ImportField("linkedin_company_url", "Company LinkedIn", "Company"),
    ImportField("business_status", "Business status (CLOSED_PERMANENTLY: no lead)", "Company"),
    ImportField("address_line1", "Street address", "Address"),
    ImportField("city", "City", "Address"),
    ImportField("state", "State", "Address"),
    ImportField("zip", "ZIP code", "Address"),
    ImportField("country", "Country code", "Address"),
    ImportField("first_name", "First name", "Contact"),
    ImportField("last_name", "Last name", "Contact"),
    ImportField("full_name", "Full name", "Contact"),
    ImportField("email", "E-mail", "Contact"),
    ImportField("contact_phone", "Contact phone", "Contact"),
    ImportField("title", "Job title", "Contact"),
    ImportField("linkedin_url", "LinkedIn profile", "Contact"),
    ImportField("plusvibe_lead_id", "Plusvibe lead ID", "Contact"),
    ImportField("source_campaign", "Source campaign", "Lead"),
    ImportField("outreach_status", "Outreach status (UNSUBSCRIBED: do not contact)", "Lead"),
)
FIELD_KEYS = frozenset(f.key for f in FIELDS)
IDENTITY_FIELDS = ("company_name", "email", "contact_phone", "company_phone")


@dataclass(frozen=True)
class Source:
    key: str
    label: str  # written to companies/contacts/leads.source
    signature: frozenset[str]  # columns only this export has
    mapping: dict[str, tuple[str, ...]]  # CRM field -> candidate columns, first found wins


SOURCES: dict[str, Source] = {
    "google_maps": Source(
        "google_maps", "Google Maps",
        frozenset({"place_id", "google_id", "full_address", "reviews_link", "location_link", "cid"}),
        {
            "company_name": ("name",), "website": ("site", "website"), "company_phone": ("phone",),
            "industry": ("category", "type"), "google_place_id": ("place_id",),
            "google_rating": ("rating",), "google_review_count": ("reviews",),
            "google_maps_url": ("location_link",), "hero_photo_url": ("photo",),
            "about_description": ("description",), "address_line1": ("street",),
            "city": ("city",), "state": ("us_state", "state"), "zip": ("postal_code",),
            "country": ("country_code",), "source_campaign": ("query",),
            "business_status": ("business_status",),
        },
    ),
    "plusvibe": Source(
        "plusvibe", "Plusvibe",
        frozenset({"_id", "camp_name", "campaign_id", "email_acc_name", "is_mx", "bounce_msg"}),
        {
            "plusvibe_lead_id": ("_id",), "email": ("email",), "first_name": ("first_name",),
            "last_name": ("last_name",), "company_name": ("company_name",),
            "website": ("company_website",), "title": ("job_title",), "industry": ("industry",),
            "contact_phone": ("phone_number",), "linkedin_url": ("linkedin_person_url",),
            "linkedin_company_url": ("linkedin_company_url",), "address_line1": ("address_line",),
            "city": ("city",), "state": ("state",), "country": ("country_code",),
            "source_campaign": ("camp_name",), "fleet_size": ("fleet_size",),
            "outreach_status": ("status",),
        },
    ),
    "csv": Source(
        "csv", "CSV import", frozenset(),
        {
            "company_name": ("company", "company_name", "companyname", "business", "business_name",
                             "organization", "account", "name"),
            "website": ("website", "site", "url", "company_website", "domain"),
            "company_phone": ("company_phone", "business_phone", "main_phone"),
            "industry": ("industry", "category", "vertical"),
            "fleet_size": ("fleet_size", "fleet", "vehicles"),
            "address_line1": ("address", "street", "address_line1", "address_line", "street_address"),
            "city": ("city", "town"), "state": ("state", "province", "region"),
            "zip": ("zip", "zip_code", "zipcode", "postal_code", "postcode"),
            "country": ("country_code", "country"),
            "first_name": ("first_name", "firstname", "first"),
            "last_name": ("last_name", "lastname", "last", "surname"),
            "full_name": ("full_name", "contact_name", "contact"),
            "email": ("email", "e_mail", "email_address", "work_email"),
            "contact_phone": ("phone", "phone_number", "mobile", "cell", "contact_phone"),
            "title": ("title", "job_title", "position", "role"),
            "linkedin_url": ("linkedin", "linkedin_url", "linkedin_person_url"),
            "source_campaign": ("campaign", "campaign_name", "source_campaign"),
            "google_place_id": ("google_place_id", "place_id"),
            "google_rating": ("google_rating", "rating"),
            "google_review_count": ("google_review_count", "reviews", "review_count"),
        },
    ),
}


def _column_key(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.strip().casefold()).strip("_")


def detect_source(header: list[str]) -> str:
    """'google_maps' or 'plusvibe' when at least three of their telltale columns are there."""
    columns = {_column_key(c) for c in header}
    best, best_hits = "csv", 2
    for source in SOURCES.values():
        hits = len({_column_key(c) for c in source.signature} & columns)
        if hits > best_hits:
            best, best_hits = source.key, hits
    return best


def default_mapping(header: list[str], source_key: str) -> dict[str, str]:
    """CRM field -> CSV column, from the source's known column names."""
    by_key: dict[str, str] = {}
    for column in header:
        by_key.setdefault(_column_key(column), column)
    mapping: dict[str, str] = {}
    for field_key, candidates in SOURCES[source_key].mapping.items():
        for candidate in map(_column_key, candidates):
            if candidate in by_key:
                mapping[field_key] = by_key[candidate]
                break
    return mapping


def mapping_problems(mapping: dict[str, str], header: list[str]) -> list[str]:
    """What keeps this mapping from importing anything (empty when it is usable).

    The minimal rule: a column for the company name, or for a contact's e-mail
    or phone. Every row is then checked on its own (`Importer`).
    """
    problems = [f"The column “{column}” is not in the file."
                for column in mapping.values() if column and column not in header]
    if not any(mapping.get(key) for key in IDENTITY_FIELDS):
        problems.append(
            "Map at least one of: company name, contact e-mail, contact phone or company "
            "phone. Without one of them no row can become a company or a contact."
        )
    return problems


# --------------------------------------------------------------------------- reading


@dataclass
class ParsedUpload:
    encoding: str
    delimiter: str
    header: list[str]
    rows: list[list[str]]
    text: str


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def decode_upload(raw: bytes) -> tuple[str, str]:
    """(text, encoding used). UTF-8 with or without BOM, UTF-16 with BOM, else
    Windows-1252 when it decodes without control characters; anything else is
    refused rather than imported as mojibake."""
    if raw.startswith(b"\xef\xbb\xbf"):
        candidates = [("utf-8-sig", "UTF-8 (with BOM)")]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = [("utf-16", "UTF-16 (with BOM)")]
    elif b"\x00" in raw[:65536]:
        raise UploadRejected(
            "This file is not text: it contains NUL bytes (a binary file, or UTF-16 without a "
            "byte-order mark). Export it again as “CSV UTF-8” and upload that."
        )
    else:
        candidates = [("utf-8", "UTF-8"), ("cp1252", "Windows-1252")]
    for codec, label in candidates:
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if _CONTROL.search(text):
            continue
        return text, label
    raise UploadRejected(
        "The file's text encoding could not be recognised (tried UTF-8, UTF-16 with a "
        "byte-order mark and Windows-1252). Is it a CSV file? Export it again as “CSV UTF-8”."
    )


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most, equal, columns."""
    sample = text[:65536]
    lines = sample.splitlines()[:20]
    if len(text) > len(sample) and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut sample may be partial
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=delimiter))
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows[1:] if len(r) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_upload(raw: bytes) -> ParsedUpload:
    """Decode, sniff and parse an upload; `UploadRejected` says what is wrong."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"The file is {len(raw) / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB. Split it into smaller files.", status=413)
    if not raw.strip():
        raise UploadRejected("The file is empty.")
    text, encoding = decode_upload(raw)
    if not text.strip():
        raise UploadRejected("The file is empty.")
    delimiter = sniff_delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False))
    except csv.Error as exc:
        raise UploadRejected(f"The file could not be read as CSV: {exc}.") from exc
    while records and not any(cell.strip() for cell in records[0]):
        records.pop(0)
    if not records:
        raise UploadRejected("The file is empty.")
    header = _unique_header(records[0])
    if len([c for c in header if c]) < 2:
        raise UploadRejected(
            "The first line should name the columns (for example “name,phone,email”), but it "
            "has fewer than two. Is this a CSV file with a header line?")
    rows = records[1:]
    if not any(any(cell.strip() for cell in row) for row in rows):
        raise UploadRejected("The file has a header line but no rows.")
    return ParsedUpload(encoding, delimiter, header, rows, text)


def _unique_header(cells: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    header = []
    for cell in cells:
        name = cell.strip().lstrip("\ufeff")
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        header.append(name)
    return header


# --------------------------------------------------------------------------- storage


@dataclass
class UploadMeta:
    token: str
    filename: str
    size: int
    encoding: str
    delimiter: str
    header: list[str]
    row_count: int
    source: str
    mapping: dict[str, str]
    user_id: str
    uploaded_at: str
    sample: list[list[str]] = field(default_factory=list)
    rep_ids: list[str] = field(default_factory=list)  # new companies' reps, in turn

    @property
    def source_label(self) -> str:
        return SOURCES[self.source].label

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


class UploadStore:
    """The uploaded CSV and its import state in Redis, keyed by a random token."""

    PREFIX = "crm:import:"

    def __init__(self, redis=None):
        if redis is None:
            from app.queue import redis_connection

            redis = redis_connection()
        self.redis = redis

    def _key(self, token: str, part: str) -> str:
        return f"{self.PREFIX}{token}:{part}"

    def save(self, upload: ParsedUpload, *, filename: str, size: int, user_id) -> UploadMeta:
        token = secrets.token_urlsafe(18)
        source = detect_source(upload.header)
        meta = UploadMeta(
            token=token, filename=filename[:200], size=size, encoding=upload.encoding,
            delimiter=upload.delimiter, header=upload.header,
            row_count=sum(1 for r in upload.rows if any(c.strip() for c in r)),
            source=source, mapping=default_mapping(upload.header, source), user_id=str(user_id),
            uploaded_at=datetime.now(UTC).isoformat(), sample=upload.rows[:3],
        )
        pipe = self.redis.pipeline()
        # Stored decoded, as UTF-8: the job never guesses the encoding again.
        pipe.set(self._key(token, "csv"), upload.text.encode("utf-8"), ex=UPLOAD_TTL_SECONDS)
        pipe.set(self._key(token, "meta"), json.dumps(asdict(meta)), ex=UPLOAD_TTL_SECONDS)
        pipe.execute()
        return meta

    def meta(self, token: str) -> UploadMeta | None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", token or ""):
            return None
        raw = self.redis.get(self._key(token, "meta"))
        return UploadMeta(**json.loads(raw)) if raw else None

    def update_meta(self, meta: UploadMeta) -> None:
        self.redis.set(self._key(meta.token, "meta"), json.dumps(asdict(meta)), keepttl=True)

    def keep(self, token: str, seconds: int = RESULT_TTL_SECONDS) -> None:
        """Keep the file while a job works on it (a run may start near the hour's end)."""
        for part in ("csv", "meta"):
            self.redis.expire(self._key(token, part), seconds)

    def rows(self, meta: UploadMeta) -> list[list[str]] | None:
        raw = self.redis.get(self._key(meta.token, "csv"))
        if raw is None:
            return None
        records = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline=""),
                                  delimiter=meta.delimiter, strict=False))
        while records and not any(cell.strip() for cell in records[0]):
            records.pop(0)
        return records[1:]

    def state(self, token: str, mode: str) -> dict | None:
        raw = self.redis.get(self._key(token, mode))
        return json.loads(raw) if raw else None

    def set_state(self, token: str, mode: str, state: dict) -> None:
        self.redis.set(self._key(token, mode), json.dumps(state), ex=RESULT_TTL_SECONDS)

    def checkpoint(self, token: str) -> dict | None:
        """The run's last committed batch (`Importer.checkpoint`), kept until the run is done."""
        raw = self.redis.get(self._key(token, "checkpoint"))
        return json.loads(raw) if raw else None

    def set_checkpoint(self, token: str, checkpoint: dict | None) -> None:
        if checkpoint is None:
            self.redis.delete(self._key(token, "checkpoint"))
        else:
            self.redis.set(self._key(token, "checkpoint"), json.dumps(checkpoint), ex=RESULT_TTL_SECONDS)


# --------------------------------------------------------------------------- rows


@dataclass
class RowPlan:
    line: int
    company: dict | None = None
    place_id: str | None = None
    name_key: str | None = None
    address: dict | None = None
    contact: dict | None = None
    email_key: str | None = None
    phone_key: str | None = None
    campaign: str | None = None
    closed: bool = False  # permanently closed (Google): a company to remember, no lead
    dnc: bool = False  # unsubscribed from outreach


class RowRejected(Exception):
    pass


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _int(value: str | None) -> int | None:
    if not value:
        return None
    try:
        number = int(Decimal(value.replace(",", "").strip()))
    except (InvalidOperation, ValueError):
        return None
    return number if 0 <= number < 2**31 else None


def _rating(value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        rating = Decimal(value.strip()).quantize(Decimal("0.1"))
    except InvalidOperation:
        return None
    return rating if 0 <= rating <= 5 else None


def _country(value: str | None) -> str:
    if not value:
        return "US"
    if len(value) == 2:
        return value.upper()
    if value.casefold() in ("usa", "united states", "united states of america"):
        return "US"
    return value


def plan_row(values: dict[str, str | None], line: int, source_label: str) -> RowPlan | None:
    """One CSV row as the records it describes; None for a blank row.

    Raises `RowRejected` with the reason when the row cannot be imported.
    """
    if not any(values.values()):
        return None
    plan = RowPlan(line=line, campaign=values.get("source_campaign"))
    outreach = (values.get("outreach_status") or "").upper()
    plan.dnc = outreach == "UNSUBSCRIBED"
    plan.closed = (values.get("business_status") or "").upper() == "CLOSED_PERMANENTLY"
    name = values.get("company_name")
    if name:
        plan.name_key = normalize_company_name(name) or None
    if name and plan.name_key:
        plan.place_id = values.get("google_place_id")
        plan.company = {
            "name": name, "normalized_name": plan.name_key, "website": values.get("website"),
            "phone": values.get("company_phone"), "industry": values.get("industry"),
            "fleet_size": _int(values.get("fleet_size")), "google_place_id": plan.place_id,
            "google_rating": _rating(values.get("google_rating")),
            "google_review_count": _int(values.get("google_review_count")),
            "google_maps_url": values.get("google_maps_url"),
            "hero_photo_url": values.get("hero_photo_url"),
            "about_description": values.get("about_description"),
            "linkedin_company_url": values.get("linkedin_company_url"),
            "source": source_label,
            "status": CompanyStatus.DEAD if plan.closed else CompanyStatus.LEAD,
        }
        line1, city = values.get("address_line1"), values.get("city")
        if line1 and city:
            plan.address = {
                "label": "Main", "type": AddressType.BOTH, "address_line1": line1, "city": city,
                "state": normalize_us_state(values.get("state")) or "",
                "zip": values.get("zip") or "", "country": _country(values.get("country")),
                "is_default_billing": True, "is_default_shipping": True,
            }

    raw_email = values.get("email")
    email_key = normalize_email(raw_email)
    if raw_email and not email_key:
        raise RowRejected(f"e-mail '{raw_email}' is invalid")
    first, last, full = values.get("first_name"), values.get("last_name"), values.get("full_name")
    person = bool(first or last or full)
    phone = values.get("contact_phone")
    if not phone and not person and plan.company:
        phone = plan.company["phone"]  # no person: the business line is the contact
    e164, phone_type, sms = phone_to_e164(phone)
    if email_key or e164:
        plan.email_key, plan.phone_key = email_key, e164
        plan.contact = {
            "first_name": first, "last_name": last,
            "full_name": full or (" ".join(p for p in (first, last) if p) or None),
            "title": values.get("title"), "email": raw_email, "email_normalized": email_key,
            "email_status": "bounced" if email_key and outreach == "BOUNCED" else None,
            "phone": phone, "phone_e164": e164, "phone_type": phone_type if e164 else None,
            "is_sms_eligible": sms, "linkedin_url": values.get("linkedin_url"),
            "plusvibe_lead_id": values.get("plusvibe_lead_id"), "source": source_label,
        }
    if plan.company is None and plan.contact is None:
        if phone or person:
            raise RowRejected(f"no company name, and no valid contact e-mail or phone"
                              f"{f' (phone {phone!r} is not a valid number)' if phone else ''}")
        raise RowRejected("no company name and no contact")
    return plan


# --------------------------------------------------------------------------- importer


@dataclass
class ImportStats:
    total: int = 0
    processed: int = 0
    blank: int = 0
    companies_new: int = 0
    companies_matched: int = 0
    companies_in_file: int = 0  # rows repeating a company created earlier in the file
    contacts_new: int = 0
    contacts_matched: int = 0
    contacts_in_file: int = 0
    leads_new: int = 0
    leads_existing: int = 0
    addresses_new: int = 0
    rejected: int = 0
    no_lead: int = 0  # rows imported as a company only (no usable e-mail or phone)
    rejections: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    industries_added: list[str] = field(default_factory=list)  # to the Industry list: nothing was close

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_LISTED:
            self.rejections.append(f"row {line}: {reason}")

    def note(self, line: int, text_: str) -> None:
        if len(self.notes) < MAX_LISTED:
            self.notes.append(f"row {line}: {text_}")

    def as_dict(self) -> dict:
        return asdict(self)


COMPANY_FILLABLE = (
    "website", "phone", "industry", "fleet_size", "google_rating", "google_review_count",
    "google_maps_url", "hero_photo_url", "about_description", "linkedin_company_url",
)
CONTACT_FILLABLE = ("first_name", "last_name", "full_name", "title", "linkedin_url",
                    "plusvibe_lead_id", "email_status")


class _New:
    """A record this batch will insert: attribute access over its column values, so
    in-file matching treats it like a loaded ORM object."""

    __slots__ = ("values",)

    def __init__(self, **values):
        object.__setattr__(self, "values", values)

    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self.values[name] = value


class Importer:
    """Turns planned rows into records, deduplicating within the file and against
    the database. New rows go in with one bulk INSERT per table and batch; matched
    records are loaded ORM objects whose empty fields get filled. With `dry_run`
    it only counts."""

    def __init__(self, mapping: dict[str, str], header: list[str], source: str, *,
                 actor_id=None, dry_run: bool = False, import_token: str | None = None,
                 rep_ids: list | None = None):
        self.columns = [(key, header.index(col)) for key, col in mapping.items()
                        if col and col in header and key in FIELD_KEYS]
        self.source_label = SOURCES[source].label
        self.actor_id = actor_id
        self.dry_run = dry_run
        self.token = import_token
        self.stats = ImportStats()
        self.created: set[uuid.UUID] = set()
        self.rep_ids = [uuid.UUID(str(r)) for r in rep_ids or ()]
        self.reps_assigned = 0
        self.industries: list[str] | None = None  # the Industry list, loaded on first use
        self.industry_of: dict[str, str] = {}  # raw -> list value
        self._reset_indexes()
        self._reset_pending()

    def checkpoint(self, batches: int) -> dict:
        """What a run resumes from once the first `batches` batches are committed."""
        return {"batches": batches, "stats": self.stats.as_dict(), "reps_assigned": self.reps_assigned}

    def resume(self, checkpoint: dict) -> int:
        """Go on from a checkpoint: its counts, the rep rotation, and the records this import
        created (a later row naming one is "repeated in the file", not "matched"). Returns
        the number of batches to skip."""
        self.stats = ImportStats(**checkpoint["stats"])
        self.reps_assigned = int(checkpoint.get("reps_assigned", 0))
        self.created.update(db.session.scalars(created_by_import(self.token, "company")))
        self.created.update(db.session.scalars(
            select(Activity.contact_id).where(Activity.activity_type == "lead.imported",
                                              Activity.detail["import"].astext == self.token)))
        return int(checkpoint["batches"])

    def _reset_indexes(self) -> None:
        self.by_place: dict[str, Company | _New] = {}
        self.by_name: dict[str, Company | _New] = {}
        self.by_email: dict[str, Contact | _New] = {}
        # (company id or None, E.164): a phone matches a contact of the same company only
        self.by_phone: dict[tuple[uuid.UUID | None, str], Contact | _New] = {}
        self.with_open_lead: set[uuid.UUID] = set()
        self.with_address: set[uuid.UUID] = set()

    def _reset_pending(self) -> None:
        self.new_companies: list[_New] = []
        self.new_contacts: list[_New] = []
        self.new_addresses: list[dict] = []
        self.new_leads: list[dict] = []
        self.lead_lines: dict[uuid.UUID, int] = {}
        self.company_lines: dict[uuid.UUID, int] = {}
        self.new_industries: list[str] = []

    def values(self, row: list[str]) -> dict[str, str | None]:
        return {key: _clean(row[i]) if i < len(row) else None for key, i in self.columns}

    def process(self, rows: list[tuple[int, list[str]]]) -> None:
        """One batch of (line number, cells). Flushes; the caller commits."""
        plans: list[RowPlan] = []
        for line, row in rows:
            self.stats.processed += 1
            try:
                plan = plan_row(self.values(row), line, self.source_label)
            except RowRejected as exc:
                self.stats.reject(line, str(exc))
                continue
            if plan is None:
                self.stats.blank += 1
                continue
            plans.append(plan)
        if not plans:
            return
        if not self.dry_run:
            # One import writes at a time: each batch sees every committed row of
            # the others, so two imports of the same file cannot both create.
            db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('crm.import'))"))
            # Committed batches live in the database now: look them up there
            # (one query per key kind) instead of holding expired objects.
            self._reset_indexes()
        with db.session.no_autoflush:
            self._prefetch(plans)
            for plan in plans:
                self._apply(plan)
            if not self.dry_run:
                self._insert_pending()
        self._reset_pending()
        if not self.dry_run:
            db.session.flush()  # the filled-in fields of matched records

    def _insert_pending(self) -> None:
        # Parents first; every row of a table names the same columns, so each
        # table is one batched statement (render_nulls keeps the NULLs in it).
        activities = [self._company_activity(c.values) for c in self.new_companies] + \
            [self._lead_activity(lead) for lead in self.new_leads]
        if self.new_industries:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            last = db.session.scalar(select(func.max(TaxonomyValue.sort_order))
                                     .where(TaxonomyValue.type == TaxonomyType.INDUSTRY)) or 0
            db.session.execute(pg_insert(TaxonomyValue).values([
                {"id": uuid.uuid4(), "type": TaxonomyType.INDUSTRY, "value": value,
                 "sort_order": last + 10 * (i + 1), "active": True}
                for i, value in enumerate(self.new_industries)]).on_conflict_do_nothing())
        for model, rows in (
            (Company, [c.values for c in self.new_companies]),
            (CompanyAddress, self.new_addresses),
            (Contact, [c.values for c in self.new_contacts]),
            (Lead, self.new_leads),
        ):
            if rows:
                db.session.execute(insert(model).execution_options(render_nulls=True), rows)
        record_many(activities)

    def _company_activity(self, company: dict) -> dict:
        return activity_values("company.imported", f"Company imported from {self.source_label}",
                               actor=self.actor_id, company=company["id"],
                               detail={"import": self.token, "row": self.company_lines.pop(company["id"])})

    def _lead_activity(self, lead: dict) -> dict:
        # One "lead.imported" per created lead, written in bulk by the activity service
        # (record() per row costs a round trip each).
        campaign = lead["source_campaign"]
        return activity_values("lead.imported", f"Lead imported from {self.source_label}"
                               + (f" ({campaign})" if campaign else ""),
                               actor=self.actor_id, lead=lead["id"], company=lead["company_id"],
                               contact=lead["contact_id"],
                               detail={"import": self.token, "row": self.lead_lines.pop(lead["id"])})

    # -- lookups ---------------------------------------------------------------------

    def _prefetch(self, plans: list[RowPlan]) -> None:
        places = {p.place_id for p in plans if p.company and p.place_id} - self.by_place.keys()
        names = {p.name_key for p in plans if p.company} - self.by_name.keys()
        emails = {p.email_key for p in plans if p.email_key} - self.by_email.keys()
        phones = {p.phone_key for p in plans if p.phone_key} - self.by_phone.keys()
        companies: list[Company] = []
        if places:
            companies += db.session.scalars(
                select(Company).where(Company.google_place_id.in_(places))).all()
        if names:
            companies += db.session.scalars(
                select(Company).where(Company.normalized_name.in_(names))
                .order_by(Company.created_at, Company.id)).all()
        for company in companies:
            self._index_company(company)
        contacts: list[Contact] = []
        if emails:
            contacts += db.session.scalars(
                select(Contact).where(Contact.email_normalized.in_(emails))).all()
        if phones:  # indexed by (company, phone): matched only within the row's company
            contacts += db.session.scalars(
                select(Contact).where(Contact.phone_e164.in_(phones))
                .order_by(Contact.created_at, Contact.id)).all()
        for contact in contacts:
            self._index_contact(contact)
        contact_ids = {c.id for c in contacts}
        if contact_ids:
            self.with_open_lead.update(db.session.scalars(
                select(Lead.contact_id).where(Lead.contact_id.in_(contact_ids),
                                              Lead.stage.not_in(CLOSED_STAGES))))
        company_ids = {c.id for c in companies}
        if company_ids:
            self.with_address.update(db.session.scalars(
                select(CompanyAddress.company_id).where(CompanyAddress.company_id.in_(company_ids))))

    def _index_company(self, company) -> None:
        if company.google_place_id:
            self.by_place.setdefault(company.google_place_id, company)
        if company.normalized_name:
            self.by_name.setdefault(company.normalized_name, company)

    def _index_contact(self, contact) -> None:
        if contact.email_normalized:
            self.by_email.setdefault(contact.email_normalized, contact)
        if contact.phone_e164:
            self.by_phone.setdefault((contact.company_id, contact.phone_e164), contact)

    # -- one row ---------------------------------------------------------------------

    def _apply(self, plan: RowPlan) -> None:
        company = self._company(plan) if plan.company else None
        if company is not None and plan.address and company.id not in self.with_address:
            self.with_address.add(company.id)
            self.stats.addresses_new += 1
            self.new_addresses.append({"id": uuid.uuid4(), "company_id": company.id, **plan.address})
        if plan.closed and company is not None:
            self.stats.no_lead += 1
            self.stats.note(plan.line, "permanently closed (Google): company kept as DEAD, no lead")
            return
        if plan.contact is None:
            self.stats.no_lead += 1
            self.stats.note(plan.line, "no valid e-mail or phone: company only, no contact or lead")
            return
        contact = self._contact(plan, company)
        if contact.id in self.with_open_lead:
            self.stats.leads_existing += 1
            return
        self.with_open_lead.add(contact.id)
        self.stats.leads_new += 1
        lead_id = uuid.uuid4()
        self.lead_lines[lead_id] = plan.line
        self.new_leads.append({
            "id": lead_id, "company_id": company.id if company else contact.company_id,
            "contact_id": contact.id, "stage": LeadStage.NEW_LEAD, "source": self.source_label,
            "source_campaign": plan.campaign, "is_dnc": plan.dnc,
        })

    def _industry(self, raw: str | None) -> str | None:
        """The Industry list value `raw` means; a new list value when none is close."""
        if not raw:
            return None
        if raw not in self.industry_of:
            if self.industries is None:
                self.industries = list(db.session.scalars(
                    select(TaxonomyValue.value).where(TaxonomyValue.type == TaxonomyType.INDUSTRY)
                    .order_by(TaxonomyValue.active.desc(), TaxonomyValue.sort_order, TaxonomyValue.value)))
            value = closest_taxonomy_value(raw, self.industries)
            if value is None:
                value = raw[:1].upper() + raw[1:]
                self.industries.append(value)
                self.new_industries.append(value)
                self.stats.industries_added.append(value)
            self.industry_of[raw] = value
        return self.industry_of[raw]

    def _next_rep(self):
        if not self.rep_ids:
            return None
        rep_id = self.rep_ids[self.reps_assigned % len(self.rep_ids)]
        self.reps_assigned += 1
        return rep_id

    def _company(self, plan: RowPlan):
        values = {**plan.company, "industry": self._industry(plan.company["industry"])}
        company = (self.by_place.get(plan.place_id) if plan.place_id else None) or \
            self.by_name.get(plan.name_key)
        if company is None:
            company = _New(id=uuid.uuid4(), assigned_rep_id=self._next_rep(), **values)
            self.new_companies.append(company)
            self.company_lines[company.id] = plan.line
            self.created.add(company.id)
            self.stats.companies_new += 1
        else:
            if company.id in self.created:
                self.stats.companies_in_file += 1
            else:
                self.stats.companies_matched += 1
            if not self.dry_run:  # a preview must not touch loaded records
                _fill_blanks(company, values, COMPANY_FILLABLE)
                if company.assigned_rep_id is None and self.rep_ids:
                    company.assigned_rep_id = self._next_rep()
                if plan.place_id and not company.google_place_id:
                    company.google_place_id = plan.place_id
        self._index_company(company)
        if plan.place_id:  # in a preview, as if the place id had been filled in
            self.by_place.setdefault(plan.place_id, company)
        return company

    def _contact(self, plan: RowPlan, company):
        values = plan.contact
        company_id = company.id if company is not None else None
        contact = (self.by_email.get(plan.email_key) if plan.email_key else None) or \
            (self.by_phone.get((company_id, plan.phone_key)) if plan.phone_key else None)
        if contact is None:
            contact = _New(id=uuid.uuid4(), company_id=company.id if company else None, **values)
            self.new_contacts.append(contact)
            self.created.add(contact.id)
            self.stats.contacts_new += 1
        else:
            if contact.id in self.created:
                self.stats.contacts_in_file += 1
            else:
                self.stats.contacts_matched += 1
            if not self.dry_run:
                _fill_blanks(contact, values, CONTACT_FILLABLE)
                if plan.email_key and not contact.email_normalized:
                    contact.email, contact.email_normalized = values["email"], plan.email_key
                if plan.phone_key and not contact.phone_e164:
                    for name in ("phone", "phone_e164", "phone_type", "is_sms_eligible"):
                        setattr(contact, name, values[name])
                if company is not None and contact.company_id is None:
                    contact.company_id = company.id
        self._index_contact(contact)
        if plan.email_key:
            self.by_email.setdefault(plan.email_key, contact)
        if plan.phone_key:
            self.by_phone.setdefault((company_id, plan.phone_key), contact)
        return contact


def _fill_blanks(obj, values: dict, names: tuple[str, ...]) -> None:
    for name in names:
        value = values.get(name)
        if value is not None and getattr(obj, name) in (None, ""):
            setattr(obj, name, value)


def numbered_batches(rows: list[list[str]], size: int | None = None
                     ) -> Iterator[list[tuple[int, list[str]]]]:
    """Batches of (row number counting the header as row 1, cells); blank lines dropped."""
    size = size or BATCH_SIZE
    batch: list[tuple[int, list[str]]] = []
    for index, row in enumerate(rows, start=2):
        if not row:
            continue
        batch.append((index, row))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_import(meta: UploadMeta, rows: list[list[str]], *, dry_run: bool, actor_id=None,
               after_batch=None, resume_from: dict | None = None) -> ImportStats:
    """Every batch of an upload through one Importer. `after_batch(stats, checkpoint)` is
    the caller's hook: the job commits there, then keeps the checkpoint. `resume_from` (a
    checkpoint a run kept after its last commit) skips the batches it had committed and
    goes on counting from its numbers."""
    importer = Importer(meta.mapping, meta.header, meta.source, actor_id=actor_id,
                        dry_run=dry_run, import_token=meta.token, rep_ids=meta.rep_ids)
    done = importer.resume(resume_from) if resume_from else 0
    importer.stats.total = sum(1 for r in rows if r)
    for index, batch in enumerate(numbered_batches(rows)):
        if index < done:
            continue
        importer.process(batch)
        if after_batch is not None:
            after_batch(importer.stats, importer.checkpoint(index + 1))
    return importer.stats


def start_import(meta: UploadMeta, store: UploadStore, *, actor, rep_ids=()) -> bool:
    """Queue the run of an upload once (a second click or tab changes nothing); its new
    companies go to `rep_ids` in turn. A run that stopped (its worker died, or it failed) is
    run again from its last committed batch, with the reps it started with. The activity and
    the job reach the database and Redis with the caller's commit."""
    from app.activity.services import record
    from app.queue import enqueue

    state = store.state(meta.token, "run")
    if state is not None and (state.get("status") == "done" or (
            state.get("status") in ("queued", "running") and not run_is_stuck(meta.token, state))):
        return False
    if state is None:
        meta.rep_ids = [str(r) for r in rep_ids]
        store.update_meta(meta)
    store.keep(meta.token)
    store.set_state(meta.token, "run", {**(state or {}), "status": "queued", "total": meta.row_count,
                                        "processed": (state or {}).get("processed", 0), "at": time.time()})
    if state is None:
        record("import.started", f"CSV import of {meta.filename} ({meta.row_count} rows, {meta.source_label})",
               actor=actor, detail={"import": meta.token, "rows": meta.row_count, "source": meta.source_label})
    else:
        record("import.resumed", f"CSV import of {meta.filename} run again after it stopped",
               actor=actor, detail={"import": meta.token, "rows": meta.row_count, "source": meta.source_label})
        from app.worker import run_again

        if run_again(store.redis, run_job_id(meta.token), _abandoned_after()):
            return True
    enqueue("import", "app.crm.importing.jobs.run_import", meta.token, job_id=run_job_id(meta.token))
    return True


def run_job_id(token: str) -> str:
    return f"import-run-{token}"


def _abandoned_after() -> int:
    from flask import current_app

    return current_app.config["JOB_ABANDONED_AFTER"]


# A run's job may reach Redis a moment after the page says "queued" (the enqueue follows the
# commit); only a run missing for longer than this is stuck.
MISSING_GRACE_SECONDS = 60


def run_is_stuck(token: str, state: dict | None, store: UploadStore | None = None) -> bool:
    """A run that says queued or running while no worker works on it: its job failed, or its
    worker stopped heartbeating (app.worker), or it is not in Redis at all."""
    if not state or state.get("status") not in ("queued", "running"):
        return False
    from app.worker import job_state

    redis = (store or UploadStore()).redis
    job = job_state(redis, run_job_id(token), _abandoned_after())
    if job == "missing":
        return time.time() - float(state.get("at") or 0) > MISSING_GRACE_SECONDS
    return job in ("abandoned", "failed", "stopped", "canceled", "finished")


TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")


def import_token(raw: str | None) -> str | None:
    """An import's token from a query string (the lists' `?import=`), or None."""
    return raw if raw and TOKEN.fullmatch(raw) else None


def created_by_import(token: str, kind: str):
    """A SELECT of the ids of the companies ("company") or leads ("lead") an import
    created: its "*.imported" activities name the token."""
    column = Activity.company_id if kind == "company" else Activity.lead_id
    return select(column).where(Activity.activity_type == f"{kind}.imported",
                                Activity.detail["import"].astext == token)


def assignable_reps():
    """Who an import can assign its new companies to: the active users who sell."""
    from app.crm.records.queries import assignable_users

    return assignable_users()


def preview_now(meta: UploadMeta, store: UploadStore) -> dict:
    """The dry run inside the request (small files): counts, nothing written."""
    rows = store.rows(meta)
    if rows is None:
        raise UploadRejected("This upload has expired (uploads are kept for an hour). "
                             "Upload the file again.", status=410)
    started = time.perf_counter()
    stats = run_import(meta, rows, dry_run=True)
    state = {"status": "done", **stats.as_dict(), "seconds": round(time.perf_counter() - started, 2)}
    store.set_state(meta.token, "preview", state)
    return state


def count_imported(source_label: str) -> dict[str, int]:
    """How many records carry a source (for tests and the summary)."""
    return {
        "companies": db.session.scalar(
            select(func.count()).select_from(Company).where(Company.source == source_label)),
        "contacts": db.session.scalar(
            select(func.count()).select_from(Contact).where(Contact.source == source_label)),
        "leads": db.session.scalar(
            select(func.count()).select_from(Lead).where(Lead.source == source_label)),
    }
