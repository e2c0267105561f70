"""A sequence definition's document: its schema (version 1), its check, and its save.

`sequence_definitions.steps` holds one JSON object (schema version 1):

    {
      "schema": 1,                     # the document's format; a reader refuses other versions
      "revision": 3,                   # +1 at every save (shown on the page and in step logs)
      "window": {                      # when e-mail, SMS and call steps may fire, in the
        "days": [0, 1, 2, 3, 4],       #   contact's time zone: weekdays (0 = Monday),
        "start": "09:00",              #   from (inclusive) ...
        "end": "17:00"                 #   ... to (exclusive), 24-hour "HH:MM", start < end
      },
      "steps": [                       # in order; at least one step that does something
        {"type": "email", "template_id": "<uuid of an active SEQUENCE e-mail template>"},
        {"type": "sms",   "template_id": "<uuid of an active SEQUENCE SMS template>"},
        {"type": "call",  "text": "what to say (optional)"},
        {"type": "task",  "task_type": "FOLLOW_UP", "priority": "NORMAL", "text": "the task"},
        {"type": "wait",  "amount": 2, "unit": "hours" | "business_days"}
      ]
    }

Edits apply to pending steps (as in Close): a run keeps only its position (`current_step`,
the number of steps it has done); each later step is read from the definition as it is
when that step fires. A run whose position is past the end of an edited definition
completes; the time a run already waits for (`next_step_at`) is kept.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import time

from sqlalchemy import select

from app.activity.services import record
from app.crm.models import Tag, TagCategory, TaskPriority, TaskType
from app.extensions import db
from app.inbox.models import MessageTemplate, TemplateCategory, TemplateChannel
from app.sequences.models import SequenceDefinition

SCHEMA_VERSION = 1
STEP_TYPES = ("email", "sms", "call", "task", "wait")
WAIT_UNITS = ("hours", "business_days")
MAX_STEPS = 20
MAX_WAIT = {"hours": 24 * 90, "business_days": 120}
TEXT_MAX = 500
DEFAULT_WINDOW = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class DefinitionInvalid(Exception):
    """The definition can't be saved: {"name" | "tag_slug" | "window" | "steps" | "step-<n>": [messages]}."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(m for msgs in errors.values() for m in msgs))
        self.errors = errors


@dataclass(frozen=True)
class Window:
    days: tuple[int, ...]
    start: time
    end: time


@dataclass(frozen=True)
class Step:
    type: str
    template_id: str | None = None
    text: str | None = None
    task_type: str | None = None
    priority: str | None = None
    amount: int | None = None
    unit: str | None = None

    @property
    def needs_window(self) -> bool:
        return self.type in ("email", "sms", "call")

    def as_json(self) -> dict:
        keys = {"email": ("template_id",), "sms": ("template_id",), "call": ("text",),
                "task": ("task_type", "priority", "text"), "wait": ("amount", "unit")}[self.type]
        out = {"type": self.type}
        out.update({k: getattr(self, k) for k in keys if getattr(self, k) not in (None, "")})
        return out


@dataclass(frozen=True)
class Document:
    revision: int
    window: Window
    steps: tuple[Step, ...] = field(default_factory=tuple)


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def read(raw) -> Document:
    """The stored document as objects (what the engine reads). Assumes it was checked on save;
    an unknown schema version raises ValueError."""
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"unknown sequence document schema: {raw.get('schema') if isinstance(raw, dict) else raw!r}")
    window = raw.get("window") or DEFAULT_WINDOW
    steps = tuple(Step(**{k: v for k, v in s.items() if k in Step.__dataclass_fields__}) for s in raw["steps"])
    return Document(revision=int(raw.get("revision", 1)),
                    window=Window(tuple(window["days"]), _hhmm(window["start"]), _hhmm(window["end"])), steps=steps)


def _templates(ids) -> dict[str, MessageTemplate]:
    valid = []
    for value in ids:
        try:
            valid.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not valid:
        return {}
    rows = db.session.scalars(select(MessageTemplate).where(MessageTemplate.id.in_(valid))).all()
    return {str(t.id): t for t in rows}


def check_document(window: dict, steps: list[dict]) -> tuple[dict, list[dict], dict[str, list[str]]]:
    """The window and steps cleaned, and the errors (empty when valid). Step errors are keyed
    "step-<n>" (1-based, as shown)."""
    errors: dict[str, list[str]] = {}
    days = sorted({int(d) for d in (window.get("days") or []) if str(d).isdigit() and 0 <= int(d) <= 6})
    start, end = str(window.get("start") or ""), str(window.get("end") or "")
    if not days:
        errors.setdefault("window", []).append("Choose at least one day the sequence may send on.")
    if not _HHMM.match(start) or not _HHMM.match(end):
        errors.setdefault("window", []).append("Times are 24-hour HH:MM, e.g. 09:00 and 17:00.")
    elif start >= end:
        errors.setdefault("window", []).append("The window must end after it starts (same day).")
    clean_window = {"days": days, "start": start, "end": end}

    templates = _templates(s.get("template_id") for s in steps if s.get("type") in ("email", "sms"))
    clean_steps: list[dict] = []
    if not steps:
        errors.setdefault("steps", []).append("Add at least one step.")
    if len(steps) > MAX_STEPS:
        errors.setdefault("steps", []).append(f"At most {MAX_STEPS} steps.")
    for n, raw in enumerate(steps, start=1):
        key, kind = f"step-{n}", raw.get("type")
        problems: list[str] = []
        if kind not in STEP_TYPES:
            problems.append("Choose what the step does.")
        elif kind in ("email", "sms"):
            template = templates.get(str(raw.get("template_id") or ""))
            channel = TemplateChannel.EMAIL if kind == "email" else TemplateChannel.SMS
            word = "an e-mail" if kind == "email" else "an SMS"
            if template is None:
                problems.append(f"Choose {word} template.")
            elif template.channel is not channel:
                problems.append(f"“{template.name}” is not {word} template.")
            elif template.category is not TemplateCategory.SEQUENCE:
                problems.append(f"“{template.name}” is a canned reply: choose a sequence-step template.")
            elif not template.is_active:
                problems.append(f"“{template.name}” is archived.")
            else:
                clean_steps.append(Step(kind, template_id=str(template.id)).as_json())
        elif kind == "wait":
            unit = raw.get("unit")
            try:
                amount = int(raw.get("amount"))
            except (TypeError, ValueError):
                amount = None
            if unit not in WAIT_UNITS:
                problems.append("Wait in hours or in business days.")
            elif amount is None or amount <= 0:
                problems.append("A wait must be a positive whole number.")
            elif amount > MAX_WAIT[unit]:
                problems.append(f"At most {MAX_WAIT[unit]} {unit.replace('_', ' ')}.")
            else:
                clean_steps.append(Step("wait", amount=amount, unit=unit).as_json())
        else:  # call, task
            text = str(raw.get("text") or "").strip()
            if len(text) > TEXT_MAX:
                problems.append(f"Keep the text under {TEXT_MAX} characters.")
            if kind == "task":
                if not text:
                    problems.append("Say what the task is.")
                if raw.get("task_type") not in TaskType.__members__:
                    problems.append("Choose the task's type.")
                if raw.get("priority") not in TaskPriority.__members__:
                    problems.append("Choose the task's priority.")
            if not problems:
                clean_steps.append(Step(kind, text=text or None, task_type=raw.get("task_type") if kind == "task" else None,
                                        priority=raw.get("priority") if kind == "task" else None).as_json())
        if problems:
            errors[key] = problems
    if steps and not errors and all(s["type"] == "wait" for s in clean_steps):
        errors.setdefault("steps", []).append("A sequence of waits only does nothing: add an e-mail, SMS, call or task.")
    return clean_window, clean_steps, errors


def disposition_tags() -> list[Tag]:
    return list(db.session.scalars(select(Tag).where(Tag.category == TagCategory.DISPOSITION)
                                   .order_by(Tag.sort_order, Tag.name)).all())


def save_definition(definition: SequenceDefinition | None, *, name: str, tag_slug: str, description: str | None,
                    is_active: bool, window: dict, steps: list[dict], actor) -> SequenceDefinition:
    """Create or edit a definition after checking it; the document's revision goes up by one."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the sequence a name."]
    elif len(name) > 120:
        errors["name"] = ["Keep the name under 120 characters."]
    tag = db.session.scalar(select(Tag).where(Tag.slug == tag_slug))
    if tag is None or tag.category is not TagCategory.DISPOSITION:
        errors["tag_slug"] = ["Choose a disposition tag."]
    else:
        taken = db.session.scalar(select(SequenceDefinition.id).where(SequenceDefinition.tag_slug == tag_slug))
        if taken is not None and (definition is None or taken != definition.id):
            errors["tag_slug"] = [f"“{tag.name}” already starts another sequence: one sequence per tag."]
    clean_window, clean_steps, step_errors = check_document(window, steps)
    errors.update(step_errors)
    if errors:
        raise DefinitionInvalid(errors)
    created = definition is None
    revision = 1 if created else int((definition.steps or {}).get("revision", 0)) + 1
    if created:
        definition = SequenceDefinition(id=uuid.uuid4())
        db.session.add(definition)
    definition.name, definition.tag_slug = name, tag_slug
    definition.description = (description or "").strip() or None
    definition.is_active = is_active
    definition.steps = {"schema": SCHEMA_VERSION, "revision": revision, "window": clean_window, "steps": clean_steps}
    db.session.flush()
    record("settings.sequence_saved", f"{'Created' if created else 'Changed'} the sequence “{name}” "
           f"(revision {revision})", actor=actor, detail={"sequence_def_id": definition.id, "revision": revision})
    return definition
