"""Header search over companies, contacts and leads, forgiving misspellings.

pg_trgm does the matching through the GIN trigram indexes: `%` (similarity of
the whole strings), `<%` (the query is similar to a part of the name, e.g.
"plumbng" in "Brooks Plumbing & Drain") and ILIKE for plain substrings. Phone
numbers match on their digits.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from sqlalchemy import Text, bindparam, func, or_, select, text
from sqlalchemy.orm import joinedload

from app.crm.models import Company, CompanyWord, Contact, Lead
from app.db import escape_like, fetch_all
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


def lenient_word_similarity(q: str) -> None:
    """A short misspelled word ("Brroks") scores 0.4 against the right one ("Brooks");
    pg_trgm's default 0.6 misses it. Only for a one-word query: with several words the
    whole-name similarity catches misspellings, and a lenient word match would pull
    in every company sharing a common word ("Electricians"), thousands at 100k
    companies, each scored. Local to the current transaction."""
    if len(q.split()) == 1:
        db.session.execute(text("SET LOCAL pg_trgm.word_similarity_threshold = 0.35"))


CLOSE_SIMILARITY = 0.5  # a whole name this similar is what the rep meant, give or take a typo
WORD_SIMILARITY = 0.2  # a word of the query and a word of a name this similar may be one word
# ("ganies" and "gaines": 0.27; a swap of two letters in a short word costs most of its trigrams)
MAX_WORDS = 4  # of the query's, to narrow the candidates with


def query_words(q: str) -> list[str]:
    """The words of `q` that narrow a search (three letters or more, lower case)."""
    return [w for w in re.split(r"[\W_]+", q.lower()) if len(w) >= 3][:MAX_WORDS]


@functools.lru_cache(maxsize=128)
def _passes(query, words: int, limit: int) -> dict:
    """The search's statements on `query` for a query of `words` words, built once (bound
    parameters: q, word_0.., pattern, and the filters' in `query`): building these constructs
    costs more CPU than running them."""
    q = bindparam("q", type_=Text)
    whole = func.similarity(Company.name, q)
    order = (func.greatest(whole, func.word_similarity(q, Company.name)).desc(), whole.desc(), Company.name)
    by_words = query
    for n in range(words):
        like_it = select(func.array_agg(CompanyWord.word)).where(
            CompanyWord.word.op("%")(bindparam(f"word_{n}", type_=Text)))
        by_words = by_words.where(func.name_words(Company.name).op("&&")(like_it.scalar_subquery()))
    lenient = or_(Company.name.op("%")(q), Company.name.op("%>")(q), Company.name.ilike(bindparam("pattern", type_=Text)))
    return {"by_words": by_words.where(whole >= CLOSE_SIMILARITY).order_by(*order).limit(limit),
            "close": query.where(Company.name.op("%")(q)).order_by(*order).limit(limit),
            "lenient": query.where(lenient).order_by(*order).limit(limit)}


def _close_matches(q: str, passes: dict, params: dict, limit: int) -> list[Company]:
    """The companies whose whole name is at least CLOSE_SIMILARITY like `q`, best first.

    Asked of the trigram index of whole names, a name made of common words ("Tidewater
    Construction") made every company sharing them a candidate to score: ~26,000 of
    1,000,000 (330 ms). So first each word of the query is matched against the words of all
    company names (company_words: a few thousand, trigram-indexed), and the candidates are
    the companies with a match of every one of those words (GIN index of each name's words):
    ~150 here, ~8 ms. A close whole name nearly always shares every word of the query, give
    or take a typo; when that finds fewer than `limit`, the whole names are asked as before,
    so the answer is then exactly the one without the words."""
    words = query_words(q)
    if words:
        db.session.execute(text(f"SET LOCAL pg_trgm.similarity_threshold = {WORD_SIMILARITY}"))
        close = fetch_all(passes["by_words"], {**params, **{f"word_{n}": word for n, word in enumerate(words)}})
        if len(close) >= limit:
            db.session.execute(text("RESET pg_trgm.similarity_threshold"))
            return close
    # (from the words' threshold straight to this one: the RESET comes after)
    db.session.execute(text(f"SET LOCAL pg_trgm.similarity_threshold = {CLOSE_SIMILARITY}"))
    close = fetch_all(passes["close"], params)
    db.session.execute(text("RESET pg_trgm.similarity_threshold"))
    return close


def find_companies(q: str, query, limit: int, params: dict | None = None) -> list[Company]:
    """Companies (from `query`, which may carry filters) whose name matches `q`, best
    first: the header search and the companies list both use it.

    Two passes. First the close whole-name matches ("Ganies Electricians" for "Gaines
    Electricians", _close_matches: by words first). Only when they are fewer than `limit` comes the
    lenient pass, which also finds a misspelled word of a longer name ("apex towng"
    in "Apex Towing & Recovery of Phoenix LLC") or a plain substring, but scores every
    company sharing a common word (~1,500 for "Electricians" at 100,000). Ties of the best
    score go to the closer whole name.

    `query`: a statement built once (its filters as bound parameters, `params` their values),
    so that the passes built on it are built once too."""
    passes = _passes(query, len(query_words(q)), limit)
    params = {**(params or {}), "q": q}
    close = _close_matches(q, passes, params, limit)
    if len(close) >= limit:
        return close
    lenient_word_similarity(q)
    return fetch_all(passes["lenient"], {**params, "pattern": f"%{escape_like(q)}%"})


@functools.cache
def _header_companies():
    """What the header search shows of a company (rows, not objects). Built once."""
    return select(Company.id, Company.name, Company.status)


def search(q: str, limit: int = LIMIT) -> SearchResults:
    q = (q or "").strip()[:100]
    if len(q) < MIN_LENGTH:
        return SearchResults(q, [], [], [])
    companies = find_companies(q, _header_companies(), limit)
    lenient_word_similarity(q)
    digits = re.sub(r"\D", "", q)
    by_phone = len(digits) >= 4
    contacts = db.session.scalars(_header_statements(limit, by_phone)["contacts"], {
        "q": q, "pattern": f"%{escape_like(q)}%", "email": f"%{escape_like(q.lower())}%",
        **({"digits": f"%{digits}%"} if by_phone else {})}).all()

    company_ids = [c.id for c in companies]
    contact_ids = [c.id for c in contacts]
    leads = []
    if company_ids or contact_ids:
        leads = db.session.scalars(_header_statements(limit, by_phone)["leads"],
                                   {"company_ids": company_ids, "contact_ids": contact_ids}).all()
    return SearchResults(q, companies, list(contacts), list(leads))


@functools.lru_cache(maxsize=16)
def _header_statements(limit: int, by_phone: bool) -> dict:
    """The header search's contacts and leads statements, built once (bound parameters only)."""
    q = bindparam("q", type_=Text)
    contact_filters = [
        Contact.full_name.op("%")(q), Contact.full_name.op("%>")(q), Contact.full_name.ilike(bindparam("pattern", type_=Text)),
        Contact.email_normalized.ilike(bindparam("email", type_=Text)),
    ]
    if by_phone:
        contact_filters.append(Contact.phone_e164.like(bindparam("digits", type_=Text)))
    contact_score = func.greatest(func.similarity(func.coalesce(Contact.full_name, ""), q),
                                  func.word_similarity(q, func.coalesce(Contact.full_name, "")))
    return {
        "contacts": select(Contact).options(joinedload(Contact.company)).where(or_(*contact_filters))
        .order_by(contact_score.desc(), Contact.full_name).limit(limit),
        "leads": select(Lead).options(joinedload(Lead.company), joinedload(Lead.contact))
        .where(or_(Lead.company_id.in_(bindparam("company_ids", expanding=True)),
                   Lead.contact_id.in_(bindparam("contact_ids", expanding=True))))
        .order_by(Lead.updated_at.desc()).limit(limit),
    }
