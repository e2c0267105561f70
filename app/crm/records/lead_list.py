"""The leads list: filters, sorting and keyset pages (read side), and bulk
actions on selected leads (each through the one service that owns the rule)."""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import bindparam, func, select

from app.activity.services import record
from app.auth.models import User
from app.crm.importing.services import import_token
from app.crm.models import Company, Contact, Lead, LeadStage
from app.crm.pipeline import board
from app.crm.pipeline import moves as pipeline
from app.crm.tags import services as tags
from app.extensions import db
from app.paging import Keyset

PAGE_SIZE = 50
# sort key -> the list's order
SORTS = {
    "activity": Keyset(Lead.last_activity_at, Lead.id, descending=True, kind=datetime),
    "created": Keyset(Lead.created_at, Lead.id, descending=True, kind=datetime),
    "revenue": Keyset(func.coalesce(Lead.estimated_revenue, -1), Lead.id, descending=True, kind=Decimal),
    "stage_age": Keyset(Lead.stage_changed_at, Lead.id, descending=False, kind=datetime),  # longest in stage first
}
DEFAULT_SORT = "activity"


@dataclass(frozen=True)
class ListQuery:
    filters: board.BoardFilters
    stage: LeadStage | None = None
    sort: str = DEFAULT_SORT
    after: str | None = None
    import_token: str | None = None  # only what one CSV import created

    @classmethod
    def from_args(cls, args) -> ListQuery:
        stage = args.get("stage") or None
        try:
            stage_enum = LeadStage(stage) if stage else None
        except ValueError:
            stage_enum = None
        sort = args.get("sort") if args.get("sort") in SORTS else DEFAULT_SORT

        return cls(board.BoardFilters.from_args(args), stage_enum, sort, args.get("after") or None,
                   import_token(args.get("import")))

    def as_args(self, **overrides) -> dict[str, str]:
        args = dict(self.filters.as_args())
        if self.stage:
            args["stage"] = self.stage.value
        if self.sort != DEFAULT_SORT:
            args["sort"] = self.sort
        if self.import_token:
            args["import"] = self.import_token
        args.update({k: v for k, v in overrides.items() if v is not None})
        return {k: v for k, v in args.items() if v}


@dataclass
class Row:
    id: uuid.UUID
    name: str
    contact_name: str | None
    stage: LeadStage
    source: str | None
    units: int | None
    revenue: Decimal | None
    rep_name: str | None
    days_in_stage: int
    last_activity_at: datetime


@dataclass
class LeadPage:
    rows: list[Row] = field(default_factory=list)
    next_after: str | None = None


def _filtered(stmt, query: ListQuery, user_id):
    stmt = board.apply_filters(stmt, query.filters, user_id)
    if query.stage:
        stmt = stmt.where(Lead.stage == query.stage)
    if query.import_token:
        from app.crm.importing.services import created_by_import

        stmt = stmt.where(Lead.id.in_(created_by_import(query.import_token, "lead")))
    return stmt


def matching_lead_ids(query: ListQuery, user_id=None, limit: int = 5000) -> list[uuid.UUID]:
    """Every lead the list's filters match (not one page), in the list's order: what a
    call list snapshots."""
    keyset = SORTS[query.sort]
    stmt = _filtered(select(Lead.id).select_from(Lead), query, user_id)
    return list(db.session.scalars(stmt.order_by(*keyset.order_by()).limit(limit)))


def ids_after(query: ListQuery, user_id, after: str | None, limit: int):
    """The next `limit` matching leads after the cursor `after`, in the list's order: a
    subquery of (id, sort_value), and the ORDER BY of a statement that joins it. The ids
    first (an index range scan of the sort's index, ix_leads_*_id, with the filters probed
    row by row, stopping at `limit`), then the joins for those rows only: with the LIMIT
    above the joins, PostgreSQL sorted every lead."""
    keyset = SORTS[query.sort]
    ids = _filtered(select(Lead.id, keyset.column.label("sort_value")).select_from(Lead), query, user_id)
    ids = keyset.continue_after(ids, after).order_by(*keyset.order_by()).limit(limit).subquery()
    order = (ids.c.sort_value.desc(), ids.c.id.desc()) if keyset.descending else (ids.c.sort_value, ids.c.id)
    return ids, order


@functools.lru_cache(maxsize=256)
def _page_statement(sort: str, shape: board.FilterShape, stage: bool, after: bool):
    """The page's statement for a sort and a shape of filters (which are set, not their
    values: bound parameters), built once: building it (and cloning it to bind the values)
    cost more than running it. The ids first (an index range scan of the sort's index,
    ix_leads_*_id, with the filters probed row by row, stopping at the limit), then the
    joins for those rows only (see ids_after)."""
    keyset = SORTS[sort]
    ids = select(Lead.id, keyset.column.label("sort_value")).select_from(Lead)
    clauses = board.filter_clauses(shape)
    if stage:
        clauses.append(Lead.stage == bindparam("list_stage", type_=Lead.stage.type))
    if after:
        clauses.append(keyset.after_bound())
    if clauses:
        ids = ids.where(*clauses)
    ids = ids.order_by(*keyset.order_by()).limit(bindparam("list_limit")).subquery()
    order = (ids.c.sort_value.desc(), ids.c.id.desc()) if keyset.descending else (ids.c.sort_value, ids.c.id)
    return _page_columns(ids, order)


def _page_columns(ids, order):
    return (
        select(Lead.id, Lead.stage, Lead.source, Lead.estimated_units, Lead.estimated_revenue,
               Lead.stage_changed_at, Lead.last_activity_at, Company.name, Contact.full_name, Contact.first_name,
               Contact.last_name, Contact.email, Contact.phone_e164, User.first_name, User.last_name,
               ids.c.sort_value)
        .select_from(ids)
        .join(Lead, Lead.id == ids.c.id)
        .join(Contact, Contact.id == Lead.contact_id)
        .outerjoin(Company, Company.id == Lead.company_id)
        .outerjoin(User, User.id == Company.assigned_rep_id)
        .order_by(*order)
    )


def leads_page(query: ListQuery, user_id=None, now: datetime | None = None) -> LeadPage:
    now = now or datetime.now(UTC)
    keyset = SORTS[query.sort]
    if query.import_token:  # (an import's leads: a statement of its own)
        ids, order = ids_after(query, user_id, query.after, PAGE_SIZE + 1)
        stmt, params = _page_columns(ids, order), {}
    else:
        shape, params = board.filter_values(query.filters, user_id)
        position = keyset.bound_position(query.after)
        stmt = _page_statement(query.sort, shape, query.stage is not None, position is not None)
        params.update(position or {}, list_limit=PAGE_SIZE + 1)
        if query.stage is not None:
            params["list_stage"] = query.stage
    rows = db.session.execute(stmt, params).all()
    page = LeadPage()
    for (lead_id, stage, source, units, revenue, changed, active, company, full, first, last, email,
         phone, rep_first, rep_last, _value) in rows[:PAGE_SIZE]:
        page.rows.append(Row(lead_id, company or board.display_name(full, first, last, email, phone),
                             board.person_name(full, first, last, email) if company else None, stage, source, units,
                             revenue, f"{rep_first} {rep_last}" if rep_first else None,
                             max(0, (now - changed).days), active))
    if len(rows) > PAGE_SIZE:
        last = rows[PAGE_SIZE - 1]
        page.next_after = keyset.cursor(last[-1], last[0])
    return page


@dataclass
class BulkResult:
    done: int = 0
    skipped: list[str] = field(default_factory=list)


def bulk_apply(lead_ids: list[uuid.UUID], action: str, *, actor, rep_id=None, tag=None, stage=None,
               lost_reason=None) -> BulkResult:
    """Apply one action to many leads; a lead the rules refuse is skipped with its reason."""
    result = BulkResult()
    leads = db.session.scalars(select(Lead).where(Lead.id.in_(lead_ids)).order_by(Lead.id)).all()
    if action == "move":
        target = pipeline.parse_stage(stage)
        if target in pipeline.LOST_STAGES and not (lost_reason or "").strip():
            raise pipeline.LostReasonRequired(f"Say why these leads are {pipeline.STAGE_LABELS[target].lower()}.")
        pipeline.lock_stage_totals()
    if action == "assign":
        rep = db.session.get(User, rep_id) if rep_id else None
        if rep is None or not rep.is_active:
            raise ValueError("Pick an active rep.")
    for lead in leads:
        label = lead.company.name if lead.company else str(lead.id)
        if action == "move":
            moved = pipeline.move_lead_to_stage(lead.id, target, actor=actor, lost_reason=lost_reason)
            result.done += int(moved.changed)
        elif action == "tag":
            try:
                tags.apply_tag(lead, tag, actor=actor)
                result.done += 1
            except tags.TagError as exc:
                raise ValueError(str(exc)) from exc
        elif action == "assign":
            if lead.company is None:
                result.skipped.append(f"{label}: no company to assign")
                continue
            if lead.company.assigned_rep_id != rep.id:
                before = lead.company.assigned_rep_id
                lead.company.assigned_rep_id = rep.id
                record("company.rep_assigned", f"Assigned to {rep.full_name}", actor=actor, company=lead.company,
                       lead=lead, detail={"before": before, "after": rep.id})
            result.done += 1
        else:
            raise ValueError(f"Unknown action {action!r}.")
    db.session.flush()
    return result


def count_matching_leads(query: ListQuery, user_id=None, limit: int | None = None) -> int:
    """How many leads the list's filters match (at most `limit`): what a large export counts."""
    stmt = _filtered(select(Lead.id).select_from(Lead), query, user_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))
