"""The pipeline board's read side: filters, columns, cards.

A constant number of statements whatever the number of leads or stages:
1. counts and revenue per stage (maintained totals, or one GROUP BY when filtered),
2. the first N cards of every stage (a LATERAL top-N per stage on
   ix_leads_stage_last_activity_at_id, or ix_leads_stage_rep_id_last_activity_at_id for a
   rep) with company, contact, score, rep and active tags (an array subquery per card) joined,
3. the filter lists (reps, sources, tags) in one statement.
"""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    Integer,
    String,
    Uuid,
    and_,
    bindparam,
    cast,
    exists,
    func,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.auth.models import User, UserRole
from app.crm.models import (
    Company,
    Contact,
    Lead,
    LeadScore,
    LeadStage,
    LeadStageRepTotal,
    LeadStageTotal,
    LeadTag,
    Tag,
    TaxonomyType,
    TaxonomyValue,
)
from app.crm.records.normalize import format_phone
from app.db import escape_like, select_rows
from app.extensions import db
from app.paging import Keyset
from app.settings.models import Setting

FIRST_PAGE = 8  # cards per column in the board's first answer: what shows above the fold
PAGE_SIZE = 25  # cards per column scrolled into view after that
STALE_SETTING = "pipeline.stale_after_days"
DEFAULT_STALE_DAYS = 14
CLOSED_STAGES = frozenset({LeadStage.WON, LeadStage.LOST, LeadStage.BOGUS})


@dataclass(frozen=True)
class BoardFilters:
    rep_id: uuid.UUID | None = None
    source: str | None = None
    tag: str | None = None
    mine: bool = False
    q: str | None = None

    @classmethod
    def from_args(cls, args) -> BoardFilters:
        def text(name: str, limit: int = 100) -> str | None:
            value = (args.get(name) or "").strip()
            return value[:limit] or None

        rep = text("rep")
        try:
            rep_id = uuid.UUID(rep) if rep else None
        except ValueError:
            rep_id = None
        return cls(rep_id=rep_id, source=text("source"), tag=text("tag"),
                   mine=args.get("mine") in ("1", "true", "on"), q=text("q"))

    def as_args(self) -> dict[str, str]:
        args = {"rep": str(self.rep_id) if self.rep_id else None, "source": self.source,
                "tag": self.tag, "mine": "1" if self.mine else None, "q": self.q}
        return {k: v for k, v in args.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.as_args())

    def only_rep(self, user_id: uuid.UUID | None) -> uuid.UUID | None:
        """The rep, when a rep (or "mine") is the board's only filter: its counts are kept."""
        if self.source or self.tag or self.q:
            return None
        reps = {r for r in (self.rep_id, user_id if self.mine else None) if r}
        return reps.pop() if len(reps) == 1 else None


@dataclass(frozen=True)
class FilterShape:
    """Which filters a board (or list) has, not their values: its statements are built once
    per shape and cached (building the ten per-stage queries cost 7 ms a request, more than
    running them); the values go in as bound parameters."""

    reps: int = 0  # 0-2: a rep, "mine", or both
    source: bool = False
    tag: bool = False
    q: bool = False


def filter_values(filters: BoardFilters, user_id: uuid.UUID | None) -> tuple[FilterShape, dict]:
    """The shape of `filters` and the values of its bound parameters."""
    rep_ids = [r for r in (filters.rep_id, user_id if filters.mine else None) if r]
    params: dict = {f"filter_rep_{i}": rep_id for i, rep_id in enumerate(rep_ids)}
    if filters.source:
        params["filter_source"] = filters.source
    if filters.tag:
        params["filter_tag"] = filters.tag
    if filters.q:
        params["filter_q"] = f"%{escape_like(filters.q)}%"
    return FilterShape(len(rep_ids), bool(filters.source), bool(filters.tag), bool(filters.q)), params


def filter_clauses(shape: FilterShape) -> list:
    """The WHERE clauses of a filter shape on Lead, values as bound parameters."""
    clauses = []
    for i in range(shape.reps):
        # the lead's rep_id: its company's rep (companies.assigned_rep_id, kept by triggers;
        # NULL without a company), so each column's top-N is a range of
        # ix_leads_stage_rep_id_last_activity_at_id instead of a probe of each lead's company
        clauses.append(Lead.rep_id == bindparam(f"filter_rep_{i}", type_=Uuid))
    if shape.source:
        clauses.append(Lead.source == bindparam("filter_source", type_=String))
    if shape.tag:
        clauses.append(exists().where(LeadTag.lead_id == Lead.id,
                                      LeadTag.tag_slug == bindparam("filter_tag", type_=String),
                                      LeadTag.removed_at.is_(None)))
    if shape.q:
        pattern = bindparam("filter_q", type_=String)
        clauses.append(or_(
            Lead.company_id.in_(select(Company.id).where(Company.name.ilike(pattern))),
            Lead.contact_id.in_(select(Contact.id).where(or_(Contact.full_name.ilike(pattern),
                                                             Contact.email_normalized.ilike(pattern)))),
        ))
    return clauses


def apply_filters(query, filters: BoardFilters, user_id: uuid.UUID | None):
    """`query` (on Lead) restricted to the filters, their values bound."""
    shape, params = filter_values(filters, user_id)
    clauses = filter_clauses(shape)
    return query.where(*clauses).params(**params) if clauses else query


@dataclass
class Card:
    """What a card shows: plain values, no ORM objects (250 cards per page)."""

    id: uuid.UUID
    stage: LeadStage
    name: str
    contact_name: str | None
    units: int | None
    revenue: Decimal | None
    last_activity_at: datetime
    stage_changed_at: datetime
    quality: int | None
    engagement: int | None
    rep_name: str | None
    rep_initials: str | None
    tags: tuple[str, ...]
    days_in_stage: int
    stale: bool


@dataclass
class Column:
    stage: LeadStage
    count: int = 0
    revenue: Decimal = Decimal("0")
    cards: list[Card] = field(default_factory=list)
    next_cursor: str | None = None


_stale_cache: tuple[float, int] | None = None
STALE_CACHE_SECONDS = 60


def forget_stale_after_days() -> None:
    """This process reads the setting again on the next board (after a change)."""
    global _stale_cache
    _stale_cache = None


def stale_after_days() -> int:
    """The setting, read at most once a minute per process (every board load needs it)."""
    import time

    global _stale_cache
    if _stale_cache and time.monotonic() - _stale_cache[0] < STALE_CACHE_SECONDS:
        return _stale_cache[1]
    value = db.session.scalar(select(Setting.value).where(Setting.key == STALE_SETTING))
    try:
        days = max(1, int(value))
    except (TypeError, ValueError):
        days = DEFAULT_STALE_DAYS
    _stale_cache = (time.monotonic(), days)
    return days


def column_totals(filters: BoardFilters, user_id=None, stages=None) -> dict[LeadStage, tuple[int, Decimal]]:
    """Count and revenue per stage: maintained totals when unfiltered or filtered by one rep
    only (lead_stage_totals, lead_stage_rep_totals), else a GROUP BY."""
    rep = filters.only_rep(user_id)
    params: dict = {"stages": list(stages)} if stages else {}
    if not filters.active or rep is not None:
        if rep is not None:
            params["rep"] = rep
        rows = select_rows(_maintained_totals_statement(rep is not None, bool(stages)), params)
    else:
        shape, values = filter_values(filters, user_id)
        params.update(values, stages=list(stages or LeadStage))
        rows = select_rows(_totals_statement(shape), params)
    return {stage: (count, revenue) for stage, count, revenue in rows}


@functools.cache
def _maintained_totals_statement(per_rep: bool, some_stages: bool):
    table = LeadStageRepTotal if per_rep else LeadStageTotal
    query = select(table.stage, table.lead_count, table.revenue)
    if per_rep:
        query = query.where(LeadStageRepTotal.rep_id == bindparam("rep", type_=Uuid))
    if some_stages:
        query = query.where(table.stage.in_(bindparam("stages", expanding=True, type_=table.stage.type)))
    return query


@functools.cache
def _totals_statement(shape: FilterShape):
    """The filtered board's GROUP BY, built once per filter shape."""
    return (select(Lead.stage, func.count(), func.coalesce(func.sum(Lead.estimated_revenue), 0))
            .where(Lead.stage.in_(bindparam("stages", expanding=True, type_=Lead.stage.type)),
                   *filter_clauses(shape))
            .group_by(Lead.stage))


# a column's cards: most recently active first
CARD_ORDER = Keyset(Lead.last_activity_at, Lead.id, descending=True, kind=datetime)


def person_name(full, first, last, email) -> str | None:
    """What names a contact as a person: its name, else its e-mail; None for a contact that
    is only a phone line (an imported business number): lists show its company instead."""
    return full or " ".join(p for p in (first, last) if p) or email or None


def display_name(full, first, last, email, phone) -> str:
    return person_name(full, first, last, email) or format_phone(phone) or "Unnamed contact"


def card_select(leads=None, from_=None):
    """A SELECT of card rows from `leads`: the leads table, or a CTE or subquery with its
    columns (a move's UPDATE ... RETURNING, so the move reads its card in the same statement;
    the board's LATERAL pages, `from_` being what they join). Company, contact, rep, score
    and active tags joined."""
    leads = Lead.__table__ if leads is None else leads
    # the tags' names, as the catalog spells them (a slug whose tag is gone shows as is)
    tags = (select(func.array_agg(aggregate_order_by(func.coalesce(Tag.name, LeadTag.tag_slug),
                                                     LeadTag.applied_at)))
            .select_from(LeadTag).outerjoin(Tag, Tag.slug == LeadTag.tag_slug)
            .where(LeadTag.lead_id == leads.c.id, LeadTag.removed_at.is_(None)).scalar_subquery())
    return (select(leads.c.id, leads.c.stage, leads.c.estimated_units, leads.c.estimated_revenue,
                   leads.c.last_activity_at, leads.c.stage_changed_at, Company.name, Contact.full_name,
                   Contact.first_name, Contact.last_name, Contact.email, Contact.phone_e164,
                   LeadScore.quality_score, LeadScore.engagement_score, User.first_name, User.last_name, tags)
            .select_from(leads if from_ is None else from_)
            .join(Contact, Contact.id == leads.c.contact_id)
            .outerjoin(Company, Company.id == leads.c.company_id)
            .outerjoin(User, User.id == Company.assigned_rep_id)
            .outerjoin(LeadScore, LeadScore.lead_id == leads.c.id))


def card_from_row(row, now: datetime, stale_days: int) -> Card:
    (lead_id, stage, units, revenue, active, changed, company_name, full, first, last, email,
     phone, quality, engagement, rep_first, rep_last, tag_slugs) = row
    days = max(0, (now - changed).days)
    return Card(
        id=lead_id, stage=stage, name=company_name or display_name(full, first, last, email, phone),
        contact_name=person_name(full, first, last, email) if company_name else None, units=units, revenue=revenue,
        last_activity_at=active, stage_changed_at=changed, quality=quality, engagement=engagement,
        rep_name=f"{rep_first} {rep_last}" if rep_first else None,
        rep_initials=(rep_first[:1] + (rep_last or "")[:1]).upper() if rep_first else None,
        tags=tuple(tag_slugs) if tag_slugs else (), days_in_stage=days,
        stale=stage not in CLOSED_STAGES and days >= stale_days)


def _rows_to_cards(rows, now: datetime, stale_days: int) -> list[Card]:
    return [card_from_row(row, now, stale_days) for row in rows]


def _stage_page(stage: LeadStage, clauses, limit: int):
    """The ids of a column's next `limit` + 1 cards (is there a next page?). The stage and
    the limit are in the SQL text, not parameters: a prepared statement with them as
    parameters never found a generic plan as cheap as its custom ones, so PostgreSQL planned
    the ten-branch statement again on every execution (1 ms of its 2)."""
    return (select(Lead.id).where(Lead.stage == bindparam(None, stage, type_=Lead.stage.type, literal_execute=True),
                                  *clauses)
            .order_by(*CARD_ORDER.order_by()).limit(bindparam(None, limit + 1, type_=Integer, literal_execute=True)))


def _cards_of(stage_queries):
    return (card_select().where(Lead.id.in_(union_all(*stage_queries).scalar_subquery()))
            .order_by(*CARD_ORDER.order_by()))


@functools.cache
def _board_statement(shape: FilterShape, limit: int):
    """The first cards of every column: for each stage (the enum's values, unnested) a
    LATERAL top-N range of ix_leads_stage_last_activity_at_id (of
    ix_leads_stage_rep_id_last_activity_at_id for a rep), the cards' joins then done once
    over those rows. Built once per filter shape and page size, as the move's statement is
    (building it cost more than running it). Not a UNION ALL of ten per-stage subqueries:
    PostgreSQL spent 1-1.5 ms planning that on every request (a request ends with a
    rollback, and psycopg forgets its prepared statements on a rollback)."""
    leads = Lead.__table__
    stages = func.unnest(func.enum_range(cast(null(), Lead.stage.type))).table_valued("stage").render_derived(name="stages")
    page = (select(leads.c.id, leads.c.stage, leads.c.estimated_units, leads.c.estimated_revenue,
                   leads.c.last_activity_at, leads.c.stage_changed_at, leads.c.contact_id, leads.c.company_id)
            .where(leads.c.stage == stages.c.stage, *filter_clauses(shape))
            .order_by(*CARD_ORDER.order_by())
            .limit(bindparam(None, limit + 1, type_=Integer, literal_execute=True)).lateral("page"))
    return (card_select(page, from_=stages.join(page, true()))
            .order_by(page.c.last_activity_at.desc(), page.c.id.desc()))


@functools.cache
def _more_statement(shape: FilterShape, stage: LeadStage, limit: int, after_cursor: bool = True):
    """The cards of one column after a cursor (its infinite scroll), or its first ones."""
    if not after_cursor:
        return _cards_of([_stage_page(stage, filter_clauses(shape), limit)])
    value = bindparam("after_value", type_=Lead.last_activity_at.type)
    # The redundant first bound is an index range (as Keyset.after's): with the OR alone,
    # PostgreSQL read every card of the column's earlier pages again (5,000 deep: 0.4 ms).
    after = and_(Lead.last_activity_at <= value,
                 or_(Lead.last_activity_at < value,
                     and_(Lead.last_activity_at == value, Lead.id < bindparam("after_id", type_=Uuid))))
    return _cards_of([_stage_page(stage, [*filter_clauses(shape), after], limit)])


def _page(column: Column, size: int) -> Column:
    if len(column.cards) > size:
        column.cards = column.cards[:size]
        column.next_cursor = CARD_ORDER.cursor(column.cards[-1].last_activity_at, column.cards[-1].id)
    return column


def board(filters: BoardFilters, user_id=None, now: datetime | None = None) -> list[Column]:
    """Every column's count and revenue, and its first FIRST_PAGE cards (what is above the
    fold; the rest of a column loads as it scrolls into view, PAGE_SIZE at a time)."""
    now = now or datetime.now(UTC)
    columns = {stage: Column(stage) for stage in LeadStage}
    for stage, (count, revenue) in column_totals(filters, user_id).items():
        columns[stage].count, columns[stage].revenue = count, revenue
    shape, params = filter_values(filters, user_id)
    rows = select_rows(_board_statement(shape, FIRST_PAGE), params)
    for card in _rows_to_cards(rows, now, stale_after_days()):
        columns[card.stage].cards.append(card)
    return [_page(column, FIRST_PAGE) for column in columns.values()]


def more_cards(stage: LeadStage, filters: BoardFilters, after: str, user_id=None,
               now: datetime | None = None) -> Column:
    """The next PAGE_SIZE cards of a column after the cursor (from its first card without one)."""
    now = now or datetime.now(UTC)
    column = Column(stage)
    shape, params = filter_values(filters, user_id)
    position = CARD_ORDER.position(after)
    if position is None:
        statement = _more_statement(shape, stage, PAGE_SIZE, after_cursor=False)
    else:
        statement = _more_statement(shape, stage, PAGE_SIZE)
        params.update(after_value=position[0], after_id=position[1])
    column.cards = _rows_to_cards(select_rows(statement, params), now, stale_after_days())
    return _page(column, PAGE_SIZE)


def moved_card(result, now: datetime | None = None) -> Card | None:
    """The card of a lead just moved: the row its move statement read back (card_select),
    or, for a move that changed nothing, a fresh read."""
    row = result.row
    if row is None:
        row = db.session.execute(card_select().where(Lead.id == result.lead_id)).first()
    return card_from_row(row, now or datetime.now(UTC), stale_after_days()) if row else None


@dataclass(frozen=True)
class RepChoice:
    id: uuid.UUID
    full_name: str


@functools.cache
def _choices_statement():
    """The three lists in one statement (arrays, each in its list's order; ties broken by a
    unique column so that the arrays of one list line up)."""
    def agg(column, *order):
        return func.array_agg(aggregate_order_by(column, *order))

    reps = select(User.id, User.first_name, User.last_name).where(
        User.is_active.is_(True), User.role.in_([UserRole.REP, UserRole.ADMIN, UserRole.NICK])).subquery()
    # Sources from the taxonomy (what the dropdowns offer), not a DISTINCT over all leads.
    sources = select(TaxonomyValue.value, TaxonomyValue.sort_order).where(
        TaxonomyValue.type == TaxonomyType.SOURCE, TaxonomyValue.active.is_(True)).subquery()
    tags = select(Tag.slug, Tag.name, Tag.category, Tag.sort_order).where(Tag.is_active.is_(True)).subquery()
    rep_order, tag_order = (reps.c.first_name, reps.c.id), (tags.c.category, tags.c.sort_order, tags.c.slug)
    rep_lists = select(agg(reps.c.id, *rep_order).label("ids"), agg(reps.c.first_name, *rep_order).label("firsts"),
                       agg(reps.c.last_name, *rep_order).label("lasts")).subquery()
    tag_lists = select(agg(tags.c.slug, *tag_order).label("slugs"), agg(tags.c.name, *tag_order).label("names")).subquery()
    source_list = select(agg(sources.c.value, sources.c.sort_order, sources.c.value)).scalar_subquery()
    # (one row each: joined on true)
    return (select(rep_lists.c.ids, rep_lists.c.firsts, rep_lists.c.lasts, source_list, tag_lists.c.slugs,
                   tag_lists.c.names).select_from(rep_lists.join(tag_lists, true())))


def filter_choices() -> dict:
    """The board's (and the leads list's) filter dropdowns: active reps by first name, the
    active sources of the taxonomy, the active tags (slug, name). One statement."""
    rep_ids, firsts, lasts, sources, slugs, names = select_rows(_choices_statement(), {}).one()
    reps = [RepChoice(rep_id, f"{first} {last}".strip())
            for rep_id, first, last in zip(rep_ids or (), firsts or (), lasts or (), strict=True)]
    return {"reps": reps, "sources": sources or [], "tags": list(zip(slugs or (), names or (), strict=True))}
