from datetime import UTC, datetime, timedelta

from app.crm.models import DealRisk, LeadStage
from app.crm.scoring.services import Inputs, compute

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def inputs(**kw):
    base = dict(stage=LeadStage.QUALIFIED, fleet_size=25, industry="Towing", google_rating=4.7,
                recent_activities=4, recent_contacts=2, last_contact_at=NOW - timedelta(days=2))
    base.update(kw)
    return Inputs(**base)


def test_quality_rewards_icp_fit():
    ideal = compute(inputs(), NOW).quality
    small = compute(inputs(fleet_size=2, industry="Bakery", google_rating=3.1), NOW).quality
    assert ideal == 90 and small < 30
    assert compute(inputs(fleet_size=None, industry=None, google_rating=None), NOW).quality == 0


def test_engagement_and_risk_follow_contact_recency():
    fresh = compute(inputs(), NOW)
    assert fresh.engagement == 40 and fresh.risk is DealRisk.LOW and fresh.days_since_contact == 2
    quiet = compute(inputs(last_contact_at=NOW - timedelta(days=12)), NOW)
    assert quiet.risk is DealRisk.HIGH  # a qualified deal 12 days without contact
    early = compute(inputs(stage=LeadStage.HOT, last_contact_at=NOW - timedelta(days=9)), NOW)
    assert early.risk is DealRisk.MEDIUM
    never = compute(inputs(stage=LeadStage.NEW_LEAD, last_contact_at=None, recent_contacts=0), NOW)
    assert never.risk is DealRisk.UNKNOWN and never.days_since_contact is None
    assert compute(inputs(stage=LeadStage.WON), NOW).risk is DealRisk.LOW
    assert compute(inputs(recent_activities=50, recent_contacts=50), NOW).engagement == 100


def test_a_contact_just_after_the_scoring_clock_is_today_not_day_minus_one():
    """Another process's clock may be a moment ahead of the scorer's: 'contacted -1 days ago'."""
    moments = compute(inputs(last_contact_at=NOW + timedelta(seconds=3)), NOW)
    assert moments.days_since_contact == 0 and moments.risk is DealRisk.LOW
