"""Saved views: a list's filters under a name, private or shared, a default per user that
opens with the list; only the owner changes a view."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from app.auth.models import UserRole
from app.reports.models import SavedView
from tests.factories import csrf_token, login


def save(client, app, **fields):
    data = {"csrf_token": csrf_token(client, app), "list_name": "leads", "query": "", "name": "", **fields}
    return client.post("/views", data=data)


def test_a_view_is_saved_shared_and_opened_by_another_rep(app, client, db_session, factory):
    owner, teammate = factory.user(UserRole.REP), factory.user(UserRole.REP)
    login(client, owner)
    saved = save(client, app, name="Hot from Maps", query="stage=HOT&source=Google+Maps&after=abc", shared="y")
    assert saved.status_code == 303
    view = db_session.query(SavedView).filter_by(user_id=owner.id, name="Hot from Maps").one()
    assert view.query == "source=Google+Maps&stage=HOT"  # paging dropped, stable order
    target = urlsplit(saved.headers["Location"])
    assert target.path == "/leads" and parse_qs(target.query) == {
        "source": ["Google Maps"], "stage": ["HOT"], "view": [str(view.id)]}
    save(client, app, name="Mine only", query="mine=1")  # private

    client = app.test_client()  # the teammate's own browser
    login(client, teammate)
    page = client.get("/leads?view=all").get_data(as_text=True)
    assert "Hot from Maps" in page and "Mine only" not in page
    opened = client.get(f"/leads?source=Google+Maps&stage=HOT&view={view.id}")
    assert opened.status_code == 200 and 'aria-current="page">Hot from Maps' in opened.get_data(as_text=True)
    token = csrf_token(client, app)
    assert client.post(f"/views/{view.id}/delete", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/views/{view.id}/default", data={"csrf_token": token}).status_code == 403
    assert db_session.get(SavedView, view.id) is not None


def test_a_default_view_opens_with_the_bare_list(app, client, db_session, factory):
    rep = factory.user(UserRole.REP)
    login(client, rep)
    save(client, app, name="Quoted", query="stage=QUOTED", make_default="y")
    second = save(client, app, list_name="companies", name="Customers", query="status=CUSTOMER")
    assert second.status_code == 303
    quoted = db_session.query(SavedView).filter_by(user_id=rep.id, name="Quoted").one()
    bare = client.get("/leads")
    assert bare.status_code == 302 and bare.headers["Location"] == f"/leads?stage=QUOTED&view={quoted.id}"
    assert client.get("/leads?view=all").status_code == 200  # "All" is never redirected
    assert client.get("/companies").status_code == 200  # no default there
    other = save(client, app, name="Hot", query="stage=HOT")
    hot = db_session.query(SavedView).filter_by(user_id=rep.id, name="Hot").one()
    assert other.status_code == 303
    client.post(f"/views/{hot.id}/default", data={"csrf_token": csrf_token(client, app)})
    db_session.expire_all()
    assert (hot.is_default, quoted.is_default) == (True, False)  # one default per list
    assert client.get("/leads").headers["Location"] == f"/leads?stage=HOT&view={hot.id}"
    deleted = client.post(f"/views/{hot.id}/delete", data={"csrf_token": csrf_token(client, app)})
    assert deleted.status_code == 303 and client.get("/leads").status_code == 200


def test_refused_views(app, client, db_session, factory):
    login(client, factory.user(UserRole.REP))
    before = db_session.query(SavedView).count()
    assert save(client, app, name="").status_code == 422
    assert save(client, app, name="x" * 61).status_code == 422
    assert save(client, app, name="Bad list", list_name="payroll").status_code == 422
    assert save(client, app, name="Too long", query="q=" + "x" * 1200).status_code == 422
    assert db_session.query(SavedView).count() == before
