"""The pipeline board's read side: filters, columns, cards.

A constant number of statements whatever the number of leads or stages:
1. counts and revenue per stage (one GROUP BY),
2. the first N cards of every stage (one UNION ALL of per-stage index scans on
   ix_leads_stage_updated_at_id, the LATERAL-style top-N) with company,
   contact, score and rep joined,
3. the active tags of those cards (one IN query).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import and_, exists, func, or_, select, union_all
from sqlalchemy.orm import aliased, contains_eager

from app.auth.models import User
from app.crm.models import Company, Contact, Lead, LeadStage, LeadTag
from app.extensions import db
from app.settings.models import Setting

PAGE_SIZE = 25
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


def _apply(query, filters: BoardFilters, user_id: uuid.UUID | None):
    rep_ids = [r for r in (filters.rep_id, user_id if filters.mine else None) if r]
    for rep_id in rep_ids:
        query = query.where(Lead.company_id.in_(select(Company.id).where(Company.assigned_rep_id == rep_id)))
    if filters.source:
        query = query.where(Lead.source == filters.source)
    if filters.tag:
        query = query.where(exists().where(LeadTag.lead_id == Lead.id, LeadTag.tag_slug == filters.tag,
                                           LeadTag.removed_at.is_(None)))
    if filters.q:
        pattern = f"%{filters.q}%"
        query = query.where(or_(
            Lead.company_id.in_(select(Company.id).where(Company.name.ilike(pattern))),
            Lead.contact_id.in_(select(Contact.id).where(or_(Contact.full_name.ilike(pattern),
                                                             Contact.email_normalized.ilike(pattern)))),
        ))
    return query


@dataclass
class Card:
    lead: Lead
    tags: list[str]
    rep: User | None
    days_in_stage: int
    stale: bool


@dataclass
class Column:
    stage: LeadStage
    count: int = 0
    revenue: Decimal = Decimal("0")
    cards: list[Card] = field(default_factory=list)
    next_cursor: str | None = None


def stale_after_days() -> int:
    value = db.session.scalar(select(Setting.value).where(Setting.key == STALE_SETTING))
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return DEFAULT_STALE_DAYS


def column_totals(filters: BoardFilters, user_id=None, stages=None) -> dict[LeadStage, tuple[int, Decimal]]:
    query = select(Lead.stage, func.count(), func.coalesce(func.sum(Lead.estimated_revenue), 0))
    if stages:
        query = query.where(Lead.stage.in_(stages))
    rows = db.session.execute(_apply(query, filters, user_id).group_by(Lead.stage)).all()
    return {stage: (count, revenue) for stage, count, revenue in rows}


def encode_cursor(lead: Lead) -> str:
    return f"{lead.updated_at.isoformat()}|{lead.id}"


def _decode_cursor(cursor: str | None):
    if not cursor:
        return None
    try:
        stamp, _, ident = cursor.partition("|")
        return datetime.fromisoformat(stamp), uuid.UUID(ident)
    except ValueError:
        return None


def _cards(stage_queries, now: datetime, stale_days: int) -> list[Card]:
    ids = union_all(*stage_queries).subquery()
    rep = aliased(User)
    rows = db.session.execute(
        select(Lead, rep)
        .join(ids, ids.c.id == Lead.id)
        .join(Lead.contact)
        .outerjoin(Lead.company)
        .outerjoin(rep, rep.id == Company.assigned_rep_id)
        .outerjoin(Lead.score)
        .options(contains_eager(Lead.contact), contains_eager(Lead.company), contains_eager(Lead.score))
        .order_by(Lead.updated_at.desc(), Lead.id.desc())
    ).unique().all()
    lead_ids = [lead.id for lead, _ in rows]
    tags: dict[uuid.UUID, list[str]] = {}
    if lead_ids:
        for lead_id, slug in db.session.execute(
            select(LeadTag.lead_id, LeadTag.tag_slug)
            .where(LeadTag.lead_id.in_(lead_ids), LeadTag.removed_at.is_(None))
            .order_by(LeadTag.applied_at)
        ):
            tags.setdefault(lead_id, []).append(slug)
    cards = []
    for lead, rep_user in rows:
        days = max(0, (now - lead.stage_changed_at).days)
        cards.append(Card(lead, tags.get(lead.id, []), rep_user, days,
                          stale=lead.stage not in CLOSED_STAGES and days >= stale_days))
    return cards


def _stage_page(stage: LeadStage, filters, user_id, after=None, limit=PAGE_SIZE):
    query = select(Lead.id).where(Lead.stage == stage)
    position = _decode_cursor(after)
    if position:
        stamp, ident = position
        query = query.where(or_(Lead.updated_at < stamp, and_(Lead.updated_at == stamp, Lead.id < ident)))
    query = _apply(query, filters, user_id)
    return query.order_by(Lead.updated_at.desc(), Lead.id.desc()).limit(limit + 1)


def board(filters: BoardFilters, user_id=None, now: datetime | None = None) -> list[Column]:
    now = now or datetime.now(UTC)
    columns = {stage: Column(stage) for stage in LeadStage}
    for stage, (count, revenue) in column_totals(filters, user_id).items():
        columns[stage].count, columns[stage].revenue = count, revenue
    cards = _cards([_stage_page(s, filters, user_id) for s in LeadStage], now, stale_after_days())
    for card in cards:
        columns[card.lead.stage].cards.append(card)
    for column in columns.values():
        if len(column.cards) > PAGE_SIZE:
            column.cards = column.cards[:PAGE_SIZE]
            column.next_cursor = encode_cursor(column.cards[-1].lead)
    return list(columns.values())


def more_cards(stage: LeadStage, filters: BoardFilters, after: str, user_id=None,
               now: datetime | None = None) -> Column:
    now = now or datetime.now(UTC)
    column = Column(stage)
    column.cards = _cards([_stage_page(stage, filters, user_id, after)], now, stale_after_days())
    if len(column.cards) > PAGE_SIZE:
        column.cards = column.cards[:PAGE_SIZE]
        column.next_cursor = encode_cursor(column.cards[-1].lead)
    return column


def card(lead_id: uuid.UUID, now: datetime | None = None) -> Card | None:
    cards = _cards([select(Lead.id).where(Lead.id == lead_id)], now or datetime.now(UTC), stale_after_days())
    return cards[0] if cards else None


def filter_choices() -> dict:
    """The board's filter dropdowns: reps, sources and tags in use."""
    from app.auth.models import UserRole
    from app.crm.models import Tag

    reps = db.session.scalars(
        select(User).where(User.is_active.is_(True), User.role.in_([UserRole.REP, UserRole.ADMIN, UserRole.NICK]))
        .order_by(User.first_name)
    ).all()
    sources = db.session.scalars(select(Lead.source).where(Lead.source.is_not(None)).distinct()
                                 .order_by(Lead.source)).all()
    tags = db.session.execute(select(Tag.slug, Tag.name).where(Tag.is_active.is_(True))
                              .order_by(Tag.category, Tag.sort_order)).all()
    return {"reps": reps, "sources": sources, "tags": tags}
