"""The call lists page and the dialer read a constant number of statements, however many
lists, leads, calls, notes and messages there are."""
from __future__ import annotations

from app.auth.models import UserRole
from app.crm.models import Note
from app.inbox.calls import services
from app.inbox.models import CallOutcome, MessageDirection
from tests.factories import login
from tests.integration.inbox.calls.test_dialer import phoned_lead, start


def _grow(db_session, factory, rep, lead, n):
    for _ in range(n):
        services.create_call_list("More", [phoned_lead(factory).id for _ in range(3)], {}, actor=factory.user())
        services.log_call(lead, actor=rep, direction=MessageDirection.OUTBOUND, outcome=CallOutcome.BUSY)
        db_session.add(Note(company_id=lead.company_id, lead_id=lead.id, author_id=factory.user().id, body="n"))
    db_session.flush()


def test_calls_pages_read_a_constant_few_statements(app, client, db_session, factory, count_statements):
    rep = factory.user(UserRole.REP)
    lead = phoned_lead(factory)
    call_list = services.create_call_list("Mine", [lead.id], {}, actor=rep)
    login(client, rep)
    start(client, app, call_list)
    urls = ("/calls", f"/calls/lists/{call_list.id}/dial", f"/leads/{lead.id}/thread")

    def measure():
        counts = []
        for url in urls:
            client.get(url)
            db_session.expire_all()
            with count_statements() as counter:
                assert client.get(url).status_code == 200
            counts.append(counter.count)
        return counts

    _grow(db_session, factory, rep, lead, 1)
    few = measure()
    _grow(db_session, factory, rep, lead, 6)
    many = measure()
    assert few == many, (few, many)
    assert max(many) <= 12, many
