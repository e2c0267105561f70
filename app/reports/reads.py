"""Where the reports read: the replica of DATABASE_REPLICA_URL when one is configured (the
"replica" bind, app.config), else the primary. Only the reports' read queries go through
here; everything that writes, and every page outside the reports, uses the primary.

A replica lags its primary by a moment: a report may miss the last seconds' changes, which
no report promises to show (the drill-down lists behind a report read the same replica, so
a bar and its rows agree)."""
from __future__ import annotations

from app.extensions import db


def engine():
    return db.engines.get("replica") or db.engine


def execute(statement, **kwargs):
    """`db.session.execute` on the reports' engine (in the session's transaction for it)."""
    return db.session.execute(statement, bind_arguments={"bind": engine()}, **kwargs)
