"""Stage moves: the one place the pipeline's rules live.

Views (drag and drop, the keyboard stage menu, bulk actions) and jobs all call
`move_lead_to_stage`; it locks the lead row, checks the mover saw the current
stage, applies the stamps and records the activity. It flushes; the caller commits.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from app.activity.services import record
from app.crm.models import CompanyStatus, Lead, LeadStage

LOST_STAGES = frozenset({LeadStage.LOST, LeadStage.BOGUS})
STAGE_LABELS = {
    LeadStage.NEW_LEAD: "New lead", LeadStage.HOT: "Hot", LeadStage.QUALIFIED: "Qualified",
    LeadStage.QUOTED: "Quoted", LeadStage.BUY_PERIOD_30: "Buying ≤30 days",
    LeadStage.BUY_PERIOD_60: "Buying ≤60 days", LeadStage.BUY_PERIOD_90: "Buying ≤90 days",
    LeadStage.WON: "Won", LeadStage.LOST: "Lost", LeadStage.BOGUS: "Bogus",
}
MAX_REASON = 500


class MoveError(Exception):
    """A move the rules refuse; the message is shown to the user."""


class UnknownStage(MoveError):
    pass


class LostReasonRequired(MoveError):
    pass


class StageConflict(MoveError):
    """Someone moved the lead since the mover loaded it: nothing is overwritten."""

    def __init__(self, lead: Lead):
        super().__init__(f"This lead was moved to {STAGE_LABELS[lead.stage]} by someone else.")
        self.lead = lead


@dataclass
class MoveResult:
    lead: Lead
    from_stage: LeadStage
    to_stage: LeadStage

    @property
    def changed(self) -> bool:
        return self.from_stage != self.to_stage


def parse_stage(value) -> LeadStage:
    if isinstance(value, LeadStage):
        return value
    try:
        return LeadStage(str(value))
    except ValueError:
        raise UnknownStage(f"“{value}” is not a pipeline stage.") from None


def move_lead_to_stage(lead_id: uuid.UUID, to_stage, *, actor, expected_stage=None,
                       lost_reason: str | None = None, now: datetime | None = None) -> MoveResult:
    from app.extensions import db

    target = parse_stage(to_stage)
    expected = parse_stage(expected_stage) if expected_stage else None
    # populate_existing: the row as locked, not a stale identity-map copy
    lead = db.session.scalar(select(Lead).where(Lead.id == lead_id).with_for_update()
                             .execution_options(populate_existing=True))
    if lead is None:
        raise LookupError(lead_id)
    if expected is not None and lead.stage != expected:
        raise StageConflict(lead)
    source = lead.stage
    if target == source:
        return MoveResult(lead, source, target)
    reason = (lost_reason or "").strip()
    if target in LOST_STAGES and not reason:
        raise LostReasonRequired(f"Say why this lead is {STAGE_LABELS[target].lower()}.")
    if len(reason) > MAX_REASON:
        raise MoveError(f"Keep the reason under {MAX_REASON} characters.")

    now = now or datetime.now(UTC)
    detail = {"from": source, "to": target}
    if source == LeadStage.WON:
        lead.won_at = None
    if source in LOST_STAGES and target not in LOST_STAGES:
        lead.lost_at = None
        lead.lost_reason = None
    if target == LeadStage.WON:
        lead.won_at = now
        if lead.company is not None and lead.company.status != CompanyStatus.CUSTOMER:
            detail["company_status"] = {"before": lead.company.status, "after": CompanyStatus.CUSTOMER}
            lead.company.status = CompanyStatus.CUSTOMER
    if target in LOST_STAGES:
        lead.lost_at = now
        lead.lost_reason = reason
        detail["lost_reason"] = reason
    lead.stage = target
    lead.stage_changed_at = now
    lead.updated_at = now
    summary = f"{getattr(actor, 'full_name', 'System')} moved the lead from {STAGE_LABELS[source]} to {STAGE_LABELS[target]}"
    if reason and target in LOST_STAGES:
        summary += f": {reason}"
    record("lead.stage_changed", summary, actor=actor, lead=lead, company=lead.company_id,
           contact=lead.contact_id, detail=detail, occurred_at=now)
    db.session.flush()
    return MoveResult(lead, source, target)
