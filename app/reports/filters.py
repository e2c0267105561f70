"""The filters every report shares, all in the URL: a date range (a preset or from/to),
a rep, a lead source and campaign. A rep's reports are always their own numbers."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.auth.models import UserRole

PRESETS = {
    "this_month": "This month",
    "last_month": "Last month",
    "last_30": "Last 30 days",
    "last_90": "Last 90 days",
    "this_quarter": "This quarter",
    "this_year": "This year",
    "last_12_months": "Last 12 months",
    "last_year": "Last year",
    "custom": "Custom",
}
DEFAULT_PRESET = "this_month"
MAX_DAYS = 366 * 5
MAX_TEXT = 100


class BadReportArgs(ValueError):
    """A filter that does not read (a date that is no date, a range backwards): 422."""


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """The first and last day (inclusive) of a preset."""
    month_start = today.replace(day=1)
    if preset == "last_month":
        last = month_start - timedelta(days=1)
        return last.replace(day=1), last
    if preset == "last_30":
        return today - timedelta(days=29), today
    if preset == "last_90":
        return today - timedelta(days=89), today
    if preset == "this_quarter":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    if preset == "this_year":
        return date(today.year, 1, 1), today
    if preset == "last_12_months":
        year, month = (today.year, today.month - 11) if today.month == 12 else (today.year - 1, today.month + 1)
        return date(year, month, 1), today
    if preset == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    return month_start, today


def _date(args, name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadReportArgs(f"“{raw[:20]}” is not a date (use YYYY-MM-DD).") from None


def _text(args, name: str) -> str | None:
    value = " ".join((args.get(name) or "").split())
    if len(value) > MAX_TEXT:
        raise BadReportArgs(f"Keep the {name} under {MAX_TEXT} characters.")
    return value or None


@dataclass(frozen=True)
class ReportFilters:
    preset: str
    first_day: date
    last_day: date
    rep_id: uuid.UUID | None = None
    source: str | None = None
    campaign: str | None = None
    rep_locked: bool = False  # a rep sees only their own numbers

    @classmethod
    def from_args(cls, args, user, today: date | None = None) -> ReportFilters:
        today = today or datetime.now(UTC).date()
        first, last = _date(args, "from"), _date(args, "to")
        preset = args.get("range") or ("custom" if first or last else DEFAULT_PRESET)
        if preset not in PRESETS:
            raise BadReportArgs("Pick a date range from the list.")
        if preset == "custom":
            default_first, default_last = preset_range(DEFAULT_PRESET, today)
            first, last = first or default_first, last or max(first or today, today)
        else:
            first, last = preset_range(preset, today)
        if first > last:
            raise BadReportArgs("The range ends before it starts.")
        if (last - first).days > MAX_DAYS:
            raise BadReportArgs("Pick a range of five years or less.")
        if first.year < 2000 or last.year > 2100:
            raise BadReportArgs("Pick dates between 2000 and 2100.")
        rep_locked = getattr(user, "role", None) is UserRole.REP
        rep_id = None
        if rep_locked:
            rep_id = user.id
        elif args.get("rep"):
            try:
                rep_id = uuid.UUID(str(args.get("rep")))
            except ValueError:
                raise BadReportArgs("That rep is not on the list.") from None
        return cls(preset, first, last, rep_id, _text(args, "source"), _text(args, "campaign"), rep_locked)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def label(self) -> str:
        span = f"{self.first_day:%b %-d, %Y} – {self.last_day:%b %-d, %Y}"
        return span if self.preset == "custom" else f"{PRESETS[self.preset]} ({span})"

    def as_args(self, **overrides) -> dict[str, str]:
        args: dict = {"range": self.preset if self.preset != DEFAULT_PRESET else None}
        if self.preset == "custom":
            args.update({"from": self.first_day.isoformat(), "to": self.last_day.isoformat()})
        args.update({"rep": str(self.rep_id) if self.rep_id and not self.rep_locked else None,
                     "source": self.source, "campaign": self.campaign})
        args.update(overrides)
        return {k: str(v) for k, v in args.items() if v not in (None, "")}
