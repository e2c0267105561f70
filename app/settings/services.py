"""Reference data an administrator maintains: the dropdown lists (taxonomy values),
the tag catalog and the pipeline's stale threshold.

Every change records an activity with the state before and after it. Services
flush; the caller commits. Deleting a tag is `app.crm.tags.services.delete_tag`.
"""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.activity.models import Activity
from app.activity.services import record
from app.crm.models import Tag, TagCategory, TaxonomyType, TaxonomyValue
from app.extensions import db

SORT_STEP = 10

TAXONOMY_LABELS = {
    TaxonomyType.INDUSTRY: "Industries",
    TaxonomyType.SOURCE: "Lead sources",
    TaxonomyType.VENDOR: "Device vendors",
    TaxonomyType.CELLULAR_CARRIER: "Cellular carriers",
    TaxonomyType.BACKEND: "Tracking backends",
    TaxonomyType.PAYMENT_INTERVAL: "Payment intervals",
    TaxonomyType.SHIPPING_TYPE: "Shipping types",
    TaxonomyType.PAYMENT_METHOD: "Payment methods",
}

TAG_CATEGORY_LABELS = {
    TagCategory.DISPOSITION: ("Dispositions", "The outcome of a call or message."),
    TagCategory.ICP: ("Ideal customer profile", "How well a lead fits who we sell to."),
    TagCategory.GATE: ("Gates", "Conditions that stop or allow automation."),
    TagCategory.CUSTOM: ("Custom", "Anything else the team wants to mark."),
}


class SettingsError(Exception):
    """Refused; the message is shown to the user next to `field` when given."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# ----------------------------------------------------------------- dropdown lists


def _clean_value(value: str | None) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise SettingsError("Enter a value.", "value")
    if len(value) > 100:
        raise SettingsError("Keep it under 100 characters.", "value")
    return value


def taxonomy_values(kind: TaxonomyType) -> list[TaxonomyValue]:
    """Every value of a list, active or not, in dropdown order."""
    return list(db.session.scalars(
        select(TaxonomyValue).where(TaxonomyValue.type == kind)
        .order_by(TaxonomyValue.sort_order, TaxonomyValue.value)))


def taxonomy_counts() -> dict[TaxonomyType, int]:
    rows = db.session.execute(
        select(TaxonomyValue.type, func.count()).where(TaxonomyValue.active.is_(True))
        .group_by(TaxonomyValue.type)).all()
    return {kind: count for kind, count in rows}


def _taxonomy_state(tv: TaxonomyValue) -> dict:
    return {"value": tv.value, "sort_order": tv.sort_order, "active": tv.active}


def _same_value(kind: TaxonomyType, value: str, exclude=None) -> TaxonomyValue | None:
    query = select(TaxonomyValue).where(TaxonomyValue.type == kind,
                                        func.lower(TaxonomyValue.value) == value.lower())
    if exclude is not None:
        query = query.where(TaxonomyValue.id != exclude.id)
    return db.session.scalars(query.limit(1)).first()


def _duplicate_message(kind: TaxonomyType, existing: TaxonomyValue | None, value: str) -> str:
    label = TAXONOMY_LABELS[kind].lower()
    if existing is not None and not existing.active:
        return (f"“{existing.value}” is already in {label}, deactivated. "
                "Reactivate it instead of adding it again.")
    return f"“{existing.value if existing else value}” is already in {label}."


def _write_unique(kind: TaxonomyType, value: str, change) -> None:
    """Make the change and flush it in a savepoint: a concurrent write of the same value
    (the unique (type, value) index) becomes a clear refusal and leaves nothing behind."""
    try:
        with db.session.begin_nested():
            change()
            db.session.flush()
    except IntegrityError as exc:
        raise SettingsError(_duplicate_message(kind, None, value), "value") from exc


def _taxonomy_changed(tv: TaxonomyValue, summary: str, before: dict | None, *, actor) -> None:
    record("settings.taxonomy_changed", summary, actor=actor,
           detail={"taxonomy_value_id": tv.id, "type": tv.type, "before": before,
                   "after": _taxonomy_state(tv)})


def add_taxonomy_value(kind: TaxonomyType, value: str, *, actor) -> TaxonomyValue:
    value = _clean_value(value)
    existing = _same_value(kind, value)
    if existing is not None:
        raise SettingsError(_duplicate_message(kind, existing, value), "value")
    last = db.session.scalar(select(func.max(TaxonomyValue.sort_order)).where(TaxonomyValue.type == kind))
    tv = TaxonomyValue(type=kind, value=value, sort_order=(last or 0) + SORT_STEP, active=True)
    _write_unique(kind, value, lambda: db.session.add(tv))
    _taxonomy_changed(tv, f"Added “{value}” to {TAXONOMY_LABELS[kind].lower()}", None, actor=actor)
    return tv


def rename_taxonomy_value(tv: TaxonomyValue, value: str, *, actor) -> TaxonomyValue:
    """Records that already carry the old text keep it (they store the string)."""
    value = _clean_value(value)
    if value == tv.value:
        return tv
    existing = _same_value(tv.type, value, exclude=tv)
    if existing is not None:
        raise SettingsError(_duplicate_message(tv.type, existing, value), "value")
    before = _taxonomy_state(tv)
    _write_unique(tv.type, value, lambda: setattr(tv, "value", value))
    _taxonomy_changed(tv, f"Renamed “{before['value']}” to “{value}” in "
                          f"{TAXONOMY_LABELS[tv.type].lower()}", before, actor=actor)
    return tv


def move_taxonomy_value(tv: TaxonomyValue, direction: str, *, actor) -> TaxonomyValue:
    """One place up or down; the list is renumbered 10, 20, 30... so gaps and ties vanish."""
    if direction not in ("up", "down"):
        raise SettingsError("Move a value up or down.")
    rows = list(db.session.scalars(
        select(TaxonomyValue).where(TaxonomyValue.type == tv.type)
        .order_by(TaxonomyValue.sort_order, TaxonomyValue.value).with_for_update()))
    index = rows.index(tv)
    target = index - 1 if direction == "up" else index + 1
    if target < 0 or target >= len(rows):
        return tv  # already first / last: nothing to do
    before = _taxonomy_state(tv)
    rows[index], rows[target] = rows[target], rows[index]
    for position, row in enumerate(rows, start=1):
        row.sort_order = position * SORT_STEP
    db.session.flush()
    _taxonomy_changed(tv, f"Moved “{tv.value}” {direction} in {TAXONOMY_LABELS[tv.type].lower()}",
                      before, actor=actor)
    return tv


def set_taxonomy_value_active(tv: TaxonomyValue, active: bool, *, actor) -> TaxonomyValue:
    """Inactive values leave the dropdowns; records that use them keep them."""
    if tv.active == active:
        return tv
    before = _taxonomy_state(tv)
    tv.active = active
    db.session.flush()
    verb = "Reactivated" if active else "Deactivated"
    _taxonomy_changed(tv, f"{verb} “{tv.value}” in {TAXONOMY_LABELS[tv.type].lower()}", before, actor=actor)
    return tv


def recent_changes(activity_types: tuple[str, ...], limit: int = 8) -> list[Activity]:
    from sqlalchemy.orm import selectinload

    return list(db.session.scalars(
        select(Activity).options(selectinload(Activity.user))
        .where(Activity.activity_type.in_(activity_types))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(limit)))


# -------------------------------------------------------------------- tag catalog

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


STALE_DAYS_RANGE = (1, 365)


def set_stale_after_days(days: int, *, actor) -> bool:
    """After how many days in one stage a lead is flagged stale on the board. Returns
    whether it changed. Other processes see it within a minute (the board caches it)."""
    from app.crm.pipeline import board
    from app.settings.models import Setting

    low, high = STALE_DAYS_RANGE
    if not low <= days <= high:
        raise SettingsError(f"Use a number of days from {low} to {high}.", "stale_after_days")
    setting = db.session.scalar(select(Setting).where(Setting.key == board.STALE_SETTING))
    before = setting.value if setting else None
    if before == days:
        return False
    if setting is None:
        setting = Setting(key=board.STALE_SETTING)
        db.session.add(setting)
    setting.value = days
    db.session.flush()
    record("settings.changed", f"Leads are now stale after {days} days in a stage", actor=actor,
           detail={"key": board.STALE_SETTING, "before": before, "after": days})
    board.forget_stale_after_days()
    return True


def slugify(name: str) -> str:
    """“Fleet Expo 2026!” -> “fleet-expo-2026”; accents folded, anything else a dash."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower().replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60].strip("-")


def tags_by_category() -> list[tuple[TagCategory, list[Tag]]]:
    tags = db.session.scalars(select(Tag).order_by(Tag.sort_order, Tag.name)).all()
    return [(category, [t for t in tags if t.category == category]) for category in TagCategory]


def _tag_state(tag: Tag) -> dict:
    return {"slug": tag.slug, "name": tag.name, "category": tag.category, "color": tag.color,
            "description": tag.description, "sort_order": tag.sort_order, "is_active": tag.is_active}


def _clean_tag(name, color, description, sort_order) -> dict:
    name = " ".join((name or "").split())
    if not name:
        raise SettingsError("A tag needs a name.", "name")
    if len(name) > 60:
        raise SettingsError("Keep the name under 60 characters.", "name")
    color = (color or "").strip() or None
    if color is not None and not _COLOR.match(color):
        raise SettingsError("Pick a colour like #16a34a.", "color")
    description = (description or "").strip() or None
    if description is not None and len(description) > 300:
        raise SettingsError("Keep the description under 300 characters.", "description")
    if sort_order is not None and not (0 <= sort_order <= 100000):
        raise SettingsError("Use a number from 0 to 100000.", "sort_order")
    return {"name": name, "color": color.lower() if color else None, "description": description,
            "sort_order": sort_order}


def create_tag(*, name: str, category: TagCategory, color: str | None = None,
               description: str | None = None, sort_order: int | None = None, actor) -> Tag:
    values = _clean_tag(name, color, description, sort_order)
    slug = slugify(values["name"])
    if not slug:
        raise SettingsError("Use at least one letter or digit in the name.", "name")
    taken = db.session.scalar(select(Tag).where(Tag.slug == slug))
    if taken is not None:
        raise SettingsError(f"The tag “{taken.name}” already uses the key “{slug}”. "
                            "Pick another name.", "name")
    if values["sort_order"] is None:
        last = db.session.scalar(select(func.max(Tag.sort_order)).where(Tag.category == category))
        values["sort_order"] = (last or 0) + SORT_STEP
    tag = Tag(slug=slug, category=category, is_system=False, is_active=True, **values)
    try:
        with db.session.begin_nested():
            db.session.add(tag)
            db.session.flush()
    except IntegrityError as exc:
        raise SettingsError(f"A tag with the key “{slug}” already exists. Pick another name.",
                            "name") from exc
    record("settings.tag_created", f"Created tag {tag.name}", actor=actor,
           detail={"tag": slug, "before": None, "after": _tag_state(tag)})
    return tag


def update_tag(tag: Tag, *, name: str, color: str | None, description: str | None,
               sort_order: int | None, actor) -> Tag:
    """The slug never changes: lead tags refer to it."""
    values = _clean_tag(name, color, description, sort_order)
    if values["sort_order"] is None:
        values["sort_order"] = tag.sort_order
    before = _tag_state(tag)
    for key, value in values.items():
        setattr(tag, key, value)
    after = _tag_state(tag)
    if after == before:
        return tag
    db.session.flush()
    record("settings.tag_changed", f"Changed tag {tag.name}", actor=actor,
           detail={"tag": tag.slug, "before": before, "after": after})
    return tag


def set_tag_active(tag: Tag, active: bool, *, actor) -> Tag:
    """An inactive tag stays on the leads that carry it but cannot be applied any more."""
    if tag.is_active == active:
        return tag
    before = _tag_state(tag)
    tag.is_active = active
    db.session.flush()
    record("settings.tag_changed", f"{'Reactivated' if active else 'Deactivated'} tag {tag.name}",
           actor=actor, detail={"tag": tag.slug, "before": before, "after": _tag_state(tag)})
    return tag
