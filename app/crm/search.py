"""Header search over companies, contacts and leads, forgiving misspellings.

pg_trgm does the matching through the GIN trigram indexes: `%` (similarity of
the whole strings), `<%` (the query is similar to a part of the name, e.g.
"plumbng" in "Brooks Plumbing & Drain") and ILIKE for plain substrings. Phone
numbers match on their digits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import joinedload

from app.crm.models import Company, Contact, Lead
from app.extensions import db

LIMIT = 6
MIN_LENGTH = 2


@dataclass
class SearchResults:
    q: str
    companies: list[Company]
    contacts: list[Contact]
    leads: list[Lead]

    @property
    def empty(self) -> bool:
        return not (self.companies or self.contacts or self.leads)


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def lenient_word_similarity(q: str) -> None:
    """A short misspelled word ("Brroks") scores 0.4 against the right one ("Brooks");
    pg_trgm's default 0.6 misses it. Only for a one-word query: with several words the
    whole-name similarity catches misspellings, and a lenient word match would pull
    in every company sharing a common word ("Electricians"), thousands at 100k
    companies, each scored. Local to the current transaction."""
    if len(q.split()) == 1:
        db.session.execute(text("SET LOCAL pg_trgm.word_similarity_threshold = 0.35"))


def company_name_matches(q: str):
    """(where, order by) for companies whose name matches `q`: a misspelling of the
    whole name or of a word in it, or a substring. The header search and the
    companies list both use it. Call lenient_word_similarity(q) first. Ties of the
    best score go to the closer whole name ("Gaines Electricians" before "Flores
    Electricians LLC" for "Ganies Electricians": both contain the word)."""
    where = or_(Company.name.op("%")(q), Company.name.op("%>")(q), Company.name.ilike(_like(q)))
    whole = func.similarity(Company.name, q)
    return where, (func.greatest(whole, func.word_similarity(q, Company.name)).desc(), whole.desc())


def search(q: str, limit: int = LIMIT) -> SearchResults:
    q = (q or "").strip()[:100]
    if len(q) < MIN_LENGTH:
        return SearchResults(q, [], [], [])
    pattern = _like(q)
    folded = q.lower()
    lenient_word_similarity(q)
    where, order = company_name_matches(q)
    companies = db.session.scalars(select(Company).where(where).order_by(*order, Company.name).limit(limit)).all()

    contact_filters = [
        Contact.full_name.op("%")(q), Contact.full_name.op("%>")(q), Contact.full_name.ilike(pattern),
        Contact.email_normalized.ilike(_like(folded)),
    ]
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 4:
        contact_filters.append(Contact.phone_e164.like(f"%{digits}%"))
    contact_score = func.greatest(func.similarity(func.coalesce(Contact.full_name, ""), q),
                                  func.word_similarity(q, func.coalesce(Contact.full_name, "")))
    contacts = db.session.scalars(
        select(Contact).options(joinedload(Contact.company))
        .where(or_(*contact_filters))
        .order_by(contact_score.desc(), Contact.full_name)
        .limit(limit)
    ).all()

    company_ids = [c.id for c in companies]
    contact_ids = [c.id for c in contacts]
    leads = []
    if company_ids or contact_ids:
        leads = db.session.scalars(
            select(Lead).options(joinedload(Lead.company), joinedload(Lead.contact))
            .where(or_(Lead.company_id.in_(company_ids), Lead.contact_id.in_(contact_ids)))
            .order_by(Lead.updated_at.desc())
            .limit(limit)
        ).all()
    return SearchResults(q, list(companies), list(contacts), list(leads))
