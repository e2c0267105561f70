"""Stage moves: the one place the pipeline's rules live.

Views (drag and drop, the keyboard stage menu, bulk actions) and jobs all call
`move_lead_to_stage`. A move is one statement: a conditional UPDATE of the lead
(`WHERE stage = <the stage the mover saw>`, which also takes the row lock), the
company turned CUSTOMER on WON, and the activity, as data-modifying CTEs. No row
back means someone moved the lead first: nothing is overwritten. It writes and
never commits; objects of the session it changed are expired so they reload.
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    String,
    Uuid,
    bindparam,
    case,
    cast,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm.util import identity_key

from app.activity.models import Activity
from app.activity.services import activity_values, mark_lead_for_scoring
from app.crm.models import Company, CompanyStatus, Lead, LeadStage, LeadStageTotal
from app.extensions import db

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

    def __init__(self, current_stage: LeadStage):
        super().__init__(f"This lead was moved to {STAGE_LABELS[current_stage]} by someone else.")
        self.current_stage = current_stage


@dataclass
class MoveResult:
    lead_id: uuid.UUID
    from_stage: LeadStage
    to_stage: LeadStage
    row: tuple | None = None  # what `read_back` selected from the moved lead, if asked
    # Count and revenue of both stages after the move (the maintained lead_stage_totals)
    totals: dict = field(default_factory=dict)

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
                       lost_reason: str | None = None, now: datetime | None = None,
                       read_back: Callable | None = None) -> MoveResult:
    """Move a lead. `expected_stage` is the stage the mover saw (the board sends it);
    without it (bulk actions, jobs) the lead's current stage is read under a row lock.
    `read_back`, given the moved row (a CTE with the lead's columns as updated), builds
    a SELECT answered in the same statement: the board reads its card this way."""
    target = parse_stage(to_stage)
    source = parse_stage(expected_stage) if expected_stage else _locked_stage(lead_id)
    if target == source:
        if expected_stage and (current := _locked_stage(lead_id)) != source:
            raise StageConflict(current)
        return MoveResult(lead_id, source, target)
    reason = (lost_reason or "").strip()
    if target in LOST_STAGES and not reason:
        raise LostReasonRequired(f"Say why this lead is {STAGE_LABELS[target].lower()}.")
    if len(reason) > MAX_REASON:
        raise MoveError(f"Keep the reason under {MAX_REASON} characters.")

    now = now or datetime.now(UTC)
    db.session.flush()  # pending ORM changes go first: the statement below is Core
    statement = _move_statement(source == LeadStage.WON, source in LOST_STAGES and target not in LOST_STAGES,
                                target, read_back)
    rows = db.session.execute(statement, _move_params(lead_id, source, target, reason, actor, now)).all()
    if not rows:
        current = _locked_stage(lead_id)  # gone, or moved by someone else first
        raise StageConflict(current)
    if target == LeadStage.WON:
        _expire_company_of(lead_id)
    _expire(Lead, lead_id)
    mark_lead_for_scoring(lead_id)
    # One row per stage: what read_back selected, then the stage's totals (3 columns).
    return MoveResult(lead_id, source, target, tuple(rows[0][:-3]) if read_back else None,
                      {stage: (count, revenue) for *_, stage, count, revenue in rows})


def lock_stage_totals() -> None:
    """Lock every stage's totals row, in stage order. A transaction that moves many
    leads calls this first: it then cannot deadlock with single moves (which lock
    their two rows in the same order)."""
    table = LeadStageTotal.__table__
    db.session.execute(select(table.c.stage).order_by(table.c.stage).with_for_update()).all()


def _locked_stage(lead_id: uuid.UUID) -> LeadStage:
    stage = db.session.scalar(select(Lead.stage).where(Lead.id == lead_id).with_for_update())
    if stage is None:
        raise LookupError(lead_id)
    return stage


def _move_params(lead_id, source: LeadStage, target: LeadStage, reason: str, actor, now: datetime) -> dict:
    detail = {"from": source, "to": target}
    summary = (f"{getattr(actor, 'full_name', 'System')} moved the lead from {STAGE_LABELS[source]} "
               f"to {STAGE_LABELS[target]}")
    if target in LOST_STAGES:
        detail["lost_reason"] = reason
        summary += f": {reason}"
    activity = activity_values("lead.stage_changed", summary, actor=actor, lead=lead_id, detail=detail,
                               occurred_at=now)
    # (no key may be named like a column of leads: an UPDATE would take it as a value to SET)
    return {"lead_id": lead_id, "from_stage": source, "to_stage": target, "now": now, "lost_why": reason,
            "activity_id": activity["id"], "activity_type": activity["activity_type"],
            "user_id": activity["user_id"], "summary": activity["summary"], "detail": activity["detail"]}


@functools.cache
def _move_statement(leaving_won: bool, leaving_lost: bool, target: LeadStage, read_back: Callable | None):
    """The move's one statement for a kind of move, built once (bound parameters only:
    building this construct costs more than running it)."""
    leads, companies, activities = Lead.__table__, Company.__table__, Activity.__table__
    now = bindparam("now", type_=DateTime(timezone=True))
    # last_activity_at: its activity's time (so the activities trigger has nothing to do)
    values = {"stage": bindparam("to_stage", type_=leads.c.stage.type), "stage_changed_at": now,
              "updated_at": now, "last_activity_at": now}
    if leaving_won:
        values["won_at"] = None
    if leaving_lost:
        values.update(lost_at=None, lost_reason=None)
    if target == LeadStage.WON:
        values["won_at"] = now
    if target in LOST_STAGES:
        values.update(lost_at=now, lost_reason=bindparam("lost_why", type_=String))
    moved = (update(leads).where(leads.c.id == bindparam("lead_id", type_=Uuid),
                                 leads.c.stage == bindparam("from_stage", type_=leads.c.stage.type))
             .values(**values).returning(*leads.c).cte("moved"))

    detail = bindparam("detail", type_=JSONB)
    extra_ctes = []
    if target == LeadStage.WON:
        # The company's status before the move (the statement's snapshot), for the activity.
        prior = (select(companies.c.id, companies.c.status).join(moved, companies.c.id == moved.c.company_id)
                 .where(companies.c.status != CompanyStatus.CUSTOMER).cte("prior"))
        extra_ctes.append(update(companies).where(companies.c.id == prior.c.id)
                          .values(status=CompanyStatus.CUSTOMER, updated_at=now)
                          .returning(companies.c.id).cte("customer"))
        change = select(func.jsonb_build_object("company_status", func.jsonb_build_object(
            "before", cast(prior.c.status, String), "after", CompanyStatus.CUSTOMER.value))).scalar_subquery()
        detail = detail.op("||")(func.coalesce(change, func.jsonb_build_object()))
    extra_ctes.append(insert(activities).from_select(
        ["id", "lead_id", "company_id", "contact_id", "user_id", "activity_type", "summary", "detail", "occurred_at"],
        select(bindparam("activity_id", type_=Uuid), moved.c.id, moved.c.company_id, moved.c.contact_id,
               bindparam("user_id", type_=Uuid), bindparam("activity_type", type_=String),
               bindparam("summary", type_=String),
               detail, now)
    ).returning(activities.c.id).cte("activity"))
    # Both stages' totals as they are after this move: the rows are locked (in stage
    # order, after the lead: concurrent moves cannot deadlock) and read at their latest
    # committed value, plus this move, which the leads trigger applies at the end of
    # the statement (after every CTE has read its rows).
    totals_table = LeadStageTotal.__table__
    revenue = func.coalesce(moved.c.estimated_revenue, 0)
    incoming = totals_table.c.stage == bindparam("to_stage", type_=leads.c.stage.type)
    totals = (select(totals_table.c.stage,
                     (totals_table.c.lead_count + case((incoming, 1), else_=-1)).label("lead_count"),
                     (totals_table.c.revenue + case((incoming, revenue), else_=-revenue)).label("revenue"))
              .join(moved, true())
              .where(totals_table.c.stage.in_([bindparam("from_stage", type_=leads.c.stage.type),
                                               bindparam("to_stage", type_=leads.c.stage.type)]))
              .order_by(totals_table.c.stage).with_for_update(of=totals_table).cte("totals"))
    answer = read_back(moved) if read_back else select(moved.c.id)
    return (answer.join(totals, true()).add_columns(totals.c.stage, totals.c.lead_count, totals.c.revenue)
            .add_cte(*extra_ctes))


def _expire_company_of(lead_id) -> None:
    lead = db.session.identity_map.get(identity_key(Lead, lead_id))
    company_id = lead.company_id if lead is not None else None
    if company_id is not None:
        _expire(Company, company_id)


def _expire(model, ident) -> None:
    obj = db.session.identity_map.get(identity_key(model, ident))
    if obj is not None:
        db.session.expire(obj)
