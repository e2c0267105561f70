"""Requests that only read end with COMMIT, so psycopg keeps its prepared statements across
requests (app.db.commit_read_only_requests); anything that wrote still ends with ROLLBACK.
An app with a database of its own: the shared test session never ends a request's
transaction."""
from __future__ import annotations

import pytest
from flask import abort
from sqlalchemy import event, text

from tests.conftest import committing_app


@pytest.fixture(scope="module")
def app_and_ends(databases, redis_url):
    with committing_app(databases, redis_url, "crm_read_only_commit") as app:
        from app.auth.models import User
        from app.extensions import db

        ends: list[str] = []

        @app.get("/_t/read")
        def read():
            db.session.execute(text("SELECT count(*) FROM users WHERE is_active")).scalar()
            return "ok"

        @app.get("/_t/prepared")
        def prepared():
            return str(db.session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar())

        @app.get("/_t/write")
        def write():
            db.session.execute(text("INSERT INTO settings (key, value) VALUES ('t.written', '1')"))
            return "not committed"

        @app.get("/_t/write-then-404")
        def write_then_404():
            db.session.execute(text("INSERT INTO settings (key, value) VALUES ('t.refused', '1')"))
            abort(404)

        @app.get("/_t/dirty")
        def dirty():
            user = db.session.scalars(db.select(User).limit(1)).one()
            user.first_name = "Changed"  # not flushed: a commit would write it
            return "dirty"

        @app.get("/_t/commit-then-read")
        def commit_then_read():
            db.session.execute(text("INSERT INTO settings (key, value) VALUES ('t.committed', '1')"))
            db.session.commit()
            db.session.execute(text("SELECT 1")).scalar()
            return "committed, then read"

        with app.app_context():
            from tests.factories import Factory

            Factory(db.session).user()
            db.session.commit()
            event.listen(db.engine, "commit", lambda conn: ends.append("COMMIT"))
            event.listen(db.engine, "rollback", lambda conn: ends.append("ROLLBACK"))
        yield app, ends


def setting(app, key):
    from app.extensions import db

    with app.app_context():
        return db.session.execute(text("SELECT value FROM settings WHERE key = :k"), {"k": key}).scalar()


def test_a_read_ends_with_commit_and_statements_stay_prepared_across_requests(app_and_ends):
    app, ends = app_and_ends
    client = app.test_client()
    ends.clear()
    for _ in range(6):  # psycopg prepares a statement on its 5th execution on a connection
        assert client.get("/_t/read").status_code == 200
    assert ends == ["COMMIT"] * 6
    # on a rollback psycopg would have forgotten the counts (and deallocated): none prepared
    assert int(client.get("/_t/prepared").get_data(as_text=True)) >= 1


def test_a_write_not_committed_is_rolled_back(app_and_ends):
    app, ends = app_and_ends
    client = app.test_client()
    ends.clear()
    assert client.get("/_t/write").status_code == 200
    assert client.get("/_t/write-then-404").status_code == 404
    assert ends == ["ROLLBACK", "ROLLBACK"]
    assert setting(app, "t.written") is None and setting(app, "t.refused") is None


def test_objects_changed_and_not_flushed_are_not_committed(app_and_ends):
    from app.auth.models import User
    from app.extensions import db

    app, ends = app_and_ends
    ends.clear()
    assert app.test_client().get("/_t/dirty").status_code == 200
    assert ends == ["ROLLBACK"]
    with app.app_context():
        assert "Changed" not in db.session.scalars(db.select(User.first_name)).all()


def test_reads_after_a_commit_end_with_commit(app_and_ends):
    app, ends = app_and_ends
    ends.clear()
    assert app.test_client().get("/_t/commit-then-read").status_code == 200
    assert ends == ["COMMIT", "COMMIT"]
    assert setting(app, "t.committed") is not None


def test_what_a_read_loaded_stays_readable_after_its_context(app_and_ends):
    """The commit leaves the session's objects as its close() would: detached with what they
    loaded, not expired (code that reads an object after its app context ends still can)."""
    from app.auth.models import User
    from app.extensions import db

    app, ends = app_and_ends
    ends.clear()
    with app.app_context():
        user = db.session.scalars(db.select(User).limit(1)).one()
    assert ends == ["COMMIT"] and user.email
