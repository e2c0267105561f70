"""What the homes and reports read from Settings: a probability per open stage (the weighted
pipeline), a low-stock threshold per device model (the warehouse home), and the pick-list of
lost reasons (the lost dialog suggests them; reps may still write their own).

Each is one `settings` row (JSON). Services flush; the caller commits.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from app.activity.services import record
from app.crm.models import LeadStage
from app.extensions import db
from app.settings.models import Setting

PROBABILITIES = "pipeline.stage_probabilities"
LOW_STOCK = "warehouse.low_stock"
LOST_REASONS = "pipeline.lost_reasons"

OPEN_STAGES = (LeadStage.NEW_LEAD, LeadStage.HOT, LeadStage.QUALIFIED, LeadStage.QUOTED,
               LeadStage.BUY_PERIOD_90, LeadStage.BUY_PERIOD_60, LeadStage.BUY_PERIOD_30)
DEFAULT_PROBABILITIES = {LeadStage.NEW_LEAD: 5, LeadStage.HOT: 15, LeadStage.QUALIFIED: 25,
                         LeadStage.QUOTED: 40, LeadStage.BUY_PERIOD_90: 50, LeadStage.BUY_PERIOD_60: 60,
                         LeadStage.BUY_PERIOD_30: 75}
DEFAULT_LOST_REASONS = ("Too expensive", "Went with a competitor", "No budget", "No response",
                        "Not a fit")
MAX_REASONS = 30
MAX_REASON_LENGTH = 100
MAX_THRESHOLD = 100_000


def weighted(value: Decimal, percent: int) -> Decimal:
    """A stage's value times its probability, to the cent (half up)."""
    return (value * percent / Decimal(100)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def read(*keys: str) -> dict:
    """The stored values of these keys, in one statement (a missing key is absent)."""
    return dict(db.session.execute(select(Setting.key, Setting.value).where(Setting.key.in_(keys))).all())


def stage_probabilities(stored: dict | None = None) -> dict[LeadStage, int]:
    """Percent per open stage; a stage never set keeps its default."""
    value = (stored if stored is not None else read(PROBABILITIES)).get(PROBABILITIES) or {}
    out = dict(DEFAULT_PROBABILITIES)
    for stage in OPEN_STAGES:
        raw = value.get(stage.value) if isinstance(value, dict) else None
        if isinstance(raw, int) and 0 <= raw <= 100:
            out[stage] = raw
    return out


def low_stock_thresholds(stored: dict | None = None) -> dict[str, int]:
    """Device model -> the in-stock count at or below which the warehouse is warned."""
    value = (stored if stored is not None else read(LOW_STOCK)).get(LOW_STOCK) or {}
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int) and 0 <= v <= MAX_THRESHOLD}


def lost_reasons(stored: dict | None = None) -> list[str]:
    value = (stored if stored is not None else read(LOST_REASONS)).get(LOST_REASONS)
    if not isinstance(value, list):
        return list(DEFAULT_LOST_REASONS)
    return [v for v in value if isinstance(v, str)]


def _write(key: str, value, summary: str, *, actor) -> bool:
    setting = db.session.scalar(select(Setting).where(Setting.key == key))
    before = setting.value if setting else None
    if before == value:
        return False
    if setting is None:
        setting = Setting(key=key)
        db.session.add(setting)
    setting.value = value
    db.session.flush()
    record("settings.changed", summary, actor=actor, detail={"key": key, "before": before, "after": value})
    return True


def set_stage_probabilities(values: dict[LeadStage, int], *, actor) -> bool:
    clean = {}
    for stage in OPEN_STAGES:
        percent = values.get(stage)
        if not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ValueError(f"{stage.value}: a percent from 0 to 100")
        clean[stage.value] = percent
    return _write(PROBABILITIES, clean, "Changed the pipeline's stage probabilities", actor=actor)


def set_low_stock_threshold(model: str, threshold: int | None, *, actor) -> bool:
    """`threshold` None removes the model's warning."""
    model = " ".join((model or "").split())[:60]
    if not model:
        raise ValueError("a device model")
    current = low_stock_thresholds()
    if threshold is None:
        current.pop(model, None)
        summary = f"Removed the low-stock warning of {model}"
    else:
        if not 0 <= threshold <= MAX_THRESHOLD:
            raise ValueError("a threshold from 0")
        current[model] = threshold
        summary = f"Warn when {model} stock is at or below {threshold}"
    return _write(LOW_STOCK, dict(sorted(current.items())), summary, actor=actor)


def clean_reasons(text: str) -> list[str]:
    """One reason a line: blanks dropped, spaces squeezed, duplicates (any case) once."""
    seen, out = set(), []
    for line in (text or "").splitlines():
        reason = " ".join(line.split())[:MAX_REASON_LENGTH]
        if reason and reason.casefold() not in seen:
            seen.add(reason.casefold())
            out.append(reason)
    return out


def set_lost_reasons(reasons: list[str], *, actor) -> bool:
    if len(reasons) > MAX_REASONS:
        raise ValueError(f"at most {MAX_REASONS} reasons")
    return _write(LOST_REASONS, reasons, "Changed the lost reasons the lost dialog suggests", actor=actor)
