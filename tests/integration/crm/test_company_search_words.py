"""Issue 14: the company search's close-match pass narrows its candidates by words (every word
of a company name is in company_words, kept by a trigger), so it stays fast at 1,000,000
companies; what it finds and how it ranks stay those of the whole-name similarity."""
from __future__ import annotations

from sqlalchemy import select


def words(db_session) -> set[str]:
    from app.crm.models import CompanyWord

    return set(db_session.scalars(select(CompanyWord.word)))


def test_every_word_of_a_company_name_is_kept_also_after_a_rename(db_session, factory):
    company = factory.company(name="Zyxwv Towing & Recovery, LLC")
    db_session.flush()
    assert {"zyxwv", "towing", "recovery", "llc"} <= words(db_session)
    company.name = "Qwrtp Haulers"
    db_session.flush()
    assert {"qwrtp", "haulers", "zyxwv"} <= words(db_session)  # words are only added


def test_a_close_misspelled_name_is_found_by_its_words_without_the_lenient_pass(db_session, factory,
                                                                             count_statements):
    from app.crm.models import Company
    from app.crm.search.services import find_companies

    for name in ("Flores Electricians LLC", "Abbott Electricians", "Gaines Plumbing"):
        factory.company(name=name)
    meant = factory.company(name="Gaines Electricians")
    also = factory.company(name="Gaines Electricians Co")
    db_session.flush()
    with count_statements() as counter:
        found = find_companies("Ganies Electricians", select(Company), 2)
    assert [c.id for c in found] == [meant.id, also.id]  # the whole name decides the order
    asked = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(asked) == 1 and "name_words(companies.name) &&" in asked[0], asked  # one pass, by words


def test_a_query_word_no_name_resembles_leaves_it_to_the_whole_names(db_session, factory):
    from app.crm.models import Company
    from app.crm.search.services import find_companies

    target = factory.company(name="Brooks Plumbing & Drain of Tucson Inc.")
    db_session.flush()
    # found by the words, or the whole names when the words find too few
    assert target.id in {c.id for c in find_companies("Brroks", select(Company), 5)}
    assert target.id in {c.id for c in find_companies("Brooks Plumbng", select(Company), 5)}


def test_the_search_statements_built_once_take_each_requests_values(app, client, db_session, factory):
    """The passes are built once per query shape (bound parameters): the same shape asked with
    other values (a filter, the words, the query) answers for those values, not the first's."""
    from app.crm.models import CompanyStatus
    from app.crm.records import queries
    from app.crm.search import services as searching

    rep = factory.user()
    lead = factory.company(name="Gaines Electricians", assigned_rep_id=rep.id)
    customer = factory.company(name="Gaines Electricians Co", status=CompanyStatus.CUSTOMER)
    other = factory.company(name="Brooks Plumbing & Drain")
    db_session.flush()

    def found(q, **filters):
        page = queries.companies_page(queries.CompanyFilters(q=q, **filters), None, query=queries.list_rows())
        return {row.id for row in page.companies}

    assert found("Ganies Electricians", status="LEAD") == {lead.id}
    assert found("Ganies Electricians", status="CUSTOMER") == {customer.id}
    assert found("Ganies Electricians", rep_id=rep.id) == {lead.id}
    assert found("Ganies Electricians", rep_id=factory.user().id) == set()
    assert found("Brooks Plumbng", status="LEAD") == {other.id}
    assert [c.id for c in searching.search("Ganies Electricians").companies][:2] == [lead.id, customer.id]
    assert [c.id for c in searching.search("Brooks Plumbng").companies] == [other.id]


def test_the_lists_htmx_search_reads_the_search_only(app, client, db_session, factory, count_statements):
    """As the rep types, the list's rows come back alone: the filter bar's lists (reps,
    industries, saved views) are not read again."""
    from tests.factories import login

    login(client, factory.user())
    factory.company(name="Gaines Electricians")
    client.get("/companies?q=warm", headers={"HX-Request": "true"})  # first-request work
    with count_statements() as counter:
        html = client.get("/companies?q=Ganies Electricians", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Gaines Electricians" in html
    # the signed-in user; the words pass, then the whole names (each with its threshold), the
    # threshold reset; fewer than a page found: the lenient pass (before: 10)
    assert counter.count <= 7, counter.statements
    assert not any("taxonomy_values" in s or "saved_views" in s for s in counter.statements), counter.statements
