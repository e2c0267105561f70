"""Lead scores: quality from ICP fit, engagement from recent activity, deal risk
from the stage and the days since the last contact.

`score_lead` upserts one LeadScore; `score_leads` does many with three
statements per batch. Pure scoring rules live in `compute`, tested on their own.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert

from app.activity.models import Activity
from app.crm.models import Company, DealRisk, Lead, LeadScore, LeadStage
from app.extensions import db

TARGET_INDUSTRIES = {"towing", "hvac", "plumbing", "trucking", "construction", "delivery",
                     "landscaping", "equipment rental", "electrical", "pest control"}
# Activities that mean we actually talked to the lead.
CONTACT_TYPES = ("call.logged", "email.sent", "email.received", "sms.sent", "sms.received",
                 "booking.created", "meeting.held")
ENGAGEMENT_WINDOW = timedelta(days=30)
LATE_STAGES = {LeadStage.QUALIFIED, LeadStage.QUOTED, LeadStage.BUY_PERIOD_30,
               LeadStage.BUY_PERIOD_60, LeadStage.BUY_PERIOD_90}
CLOSED = {LeadStage.WON, LeadStage.LOST, LeadStage.BOGUS}


@dataclass
class Inputs:
    stage: LeadStage
    fleet_size: int | None
    industry: str | None
    google_rating: float | None
    recent_activities: int
    recent_contacts: int
    last_contact_at: datetime | None


@dataclass
class Score:
    quality: int
    engagement: int
    risk: DealRisk
    last_interaction_at: datetime | None
    days_since_contact: int | None


def compute(inputs: Inputs, now: datetime) -> Score:
    fleet = inputs.fleet_size or 0
    quality = 0
    quality += 50 if fleet >= 40 else 40 if fleet >= 20 else 30 if fleet >= 10 else 15 if fleet >= 3 else 5 if fleet else 0
    if inputs.industry and inputs.industry.strip().lower() in TARGET_INDUSTRIES:
        quality += 30
    if inputs.google_rating is not None:
        quality += 20 if inputs.google_rating >= 4.5 else 12 if inputs.google_rating >= 4.0 else 5
    engagement = min(100, inputs.recent_contacts * 15 + (inputs.recent_activities - inputs.recent_contacts) * 5)
    # a contact a moment after the scoring clock (another process's clock) is a contact today, not day -1
    days = max(0, (now - inputs.last_contact_at).days) if inputs.last_contact_at else None
    if inputs.stage in CLOSED:
        risk = DealRisk.LOW if inputs.stage == LeadStage.WON else DealRisk.UNKNOWN
    elif days is None:
        risk = DealRisk.UNKNOWN if inputs.stage == LeadStage.NEW_LEAD else DealRisk.HIGH
    elif days > 21 or (inputs.stage in LATE_STAGES and days > 10):
        risk = DealRisk.HIGH
    elif days > 7:
        risk = DealRisk.MEDIUM
    else:
        risk = DealRisk.LOW
    return Score(min(100, quality), max(0, engagement), risk, inputs.last_contact_at, days)


def score_leads(lead_ids: list[uuid.UUID], now: datetime | None = None) -> int:
    """(Re)compute the scores of these leads; returns how many were written."""
    if not lead_ids:
        return 0
    now = now or datetime.now(UTC)
    leads = db.session.execute(
        select(Lead.id, Lead.stage, Company.fleet_size, Company.industry, Company.google_rating)
        .outerjoin(Company, Company.id == Lead.company_id)
        .where(Lead.id.in_(lead_ids))
    ).all()
    is_contact = Activity.activity_type.in_(CONTACT_TYPES)
    stats = {
        row.lead_id: row for row in db.session.execute(
            select(Activity.lead_id,
                   func.count().filter(Activity.occurred_at >= now - ENGAGEMENT_WINDOW).label("recent"),
                   func.count().filter(is_contact, Activity.occurred_at >= now - ENGAGEMENT_WINDOW).label("contacts"),
                   func.max(case((is_contact, Activity.occurred_at))).label("last_contact"))
            .where(Activity.lead_id.in_(lead_ids))
            .group_by(Activity.lead_id)
        )
    }
    rows = []
    for lead in leads:
        stat = stats.get(lead.id)
        score = compute(Inputs(lead.stage, lead.fleet_size, lead.industry,
                               float(lead.google_rating) if lead.google_rating is not None else None,
                               stat.recent if stat else 0, stat.contacts if stat else 0,
                               stat.last_contact if stat else None), now)
        rows.append({"lead_id": lead.id, "quality_score": score.quality, "engagement_score": score.engagement,
                     "deal_risk": score.risk, "last_interaction_at": score.last_interaction_at,
                     "days_since_contact": score.days_since_contact, "updated_at": now})
    if rows:
        statement = insert(LeadScore).values(rows)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=[LeadScore.lead_id],
            set_={c: statement.excluded[c] for c in ("quality_score", "engagement_score", "deal_risk",
                                                      "last_interaction_at", "days_since_contact", "updated_at")},
        ))
    return len(rows)
