"""DATABASE_REPLICA_URL: the reports read from the replica when it is set (a second database
in the test server stands in for it), from the primary when it is not; writes never go there."""
from __future__ import annotations

from datetime import date

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, text

from tests.conftest import make_app


@pytest.fixture(scope="module")
def replica_url(databases, redis_url):
    url = databases.create("crm_test_replica")
    app = make_app(url, redis_url)
    with app.app_context():
        upgrade()
        from app.extensions import db

        # a row only the replica has: 7 leads created on 2031-03-02, furthest step "Hot"
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO report_lead_funnel (span, day, top, leads) "
                              "VALUES ('day', '2031-03-02', 1, 7), ('month', '2031-03-01', 1, 7)"))
        db.engine.dispose()
    return url


def _funnel_total(app) -> tuple[int, dict]:
    from app.extensions import db
    from app.reports.filters import ReportFilters
    from app.reports.pipeline import queries as pipeline

    sent = {key: [] for key in db.engines}
    listeners = []
    for key, engine in db.engines.items():
        def on_execute(conn, cursor, statement, *args, key=key):
            sent[key].append(statement)
        event.listen(engine, "before_cursor_execute", on_execute)
        listeners.append((engine, on_execute))
    try:
        with app.test_request_context("/reports/pipeline"):
            f = ReportFilters("custom", date(2031, 3, 1), date(2031, 3, 31))
            table = pipeline.funnel(f)
            db.session.remove()
    finally:
        for engine, on_execute in listeners:
            event.remove(engine, "before_cursor_execute", on_execute)
    reached = table.rows[0][1] if table.rows else 0
    return reached, sent


def test_reports_read_the_replica_when_it_is_set(app, replica_url, redis_url, monkeypatch):
    monkeypatch.setenv("DATABASE_REPLICA_URL", replica_url)
    with_replica = make_app(app.config["SQLALCHEMY_DATABASE_URI"], redis_url)
    with with_replica.app_context():
        from app.extensions import db

        assert set(db.engines) == {None, "replica"}
        reached, sent = _funnel_total(with_replica)
        assert reached == 7  # the replica's row
        assert any("report_lead_funnel" in s for s in sent["replica"])
        assert not any("report_lead_funnel" in s for s in sent[None])
        for engine in db.engines.values():
            engine.dispose()


def test_reports_read_the_primary_without_it(app, replica_url, redis_url, monkeypatch):
    monkeypatch.delenv("DATABASE_REPLICA_URL", raising=False)
    primary_only = make_app(app.config["SQLALCHEMY_DATABASE_URI"], redis_url)
    with primary_only.app_context():
        from app.extensions import db

        assert set(db.engines) == {None}
        reached, sent = _funnel_total(primary_only)
        assert reached == 0  # the primary has no lead created in March 2031
        assert any("report_lead_funnel" in s for s in sent[None])
        db.engine.dispose()
