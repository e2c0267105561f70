"""The one way an inbox channel's send job hands a claimed message to its provider.

The job has claimed its row (QUEUED -> SENDING) and checked what may refuse it; from here SMS and
e-mail are the same: SENDING is committed before the provider hears of it (a worker killed
after this point leaves the row for the channel's reconciler, never a blind resend); a
temporary failure puts the row back to QUEUED and raises, so RQ retries it; a permanent one or
the last attempt marks it FAILED with the provider's reason; a delivery marks it SENT once."""
from __future__ import annotations

from collections.abc import Callable

from app.extensions import db
from app.sequences import stops as sequence_stops


def send_claimed(row_id, *, statuses, settle: Callable, send: Callable[[], object],
                 failure: type[Exception], on_sent: Callable) -> str:
    """`statuses`: the channel's status enum (QUEUED, SENT, FAILED); `settle(row_id, status,
    error=None)` -> True when it changed the row; `failure`: the provider's exception, with
    `.permanent` and `.reason`; `on_sent(row_id)`: what a first delivery records."""
    from app.queue import last_attempt

    db.session.commit()  # SENDING is durable before the provider hears of it
    try:
        send()
    except failure as exc:
        db.session.rollback()
        if exc.permanent or last_attempt():
            settle(row_id, statuses.FAILED, error=exc.reason)
            sequence_stops.send_failed(statuses, row_id, exc.reason)
            db.session.commit()
            return "failed"
        settle(row_id, statuses.QUEUED, error=exc.reason)
        db.session.commit()
        raise
    if settle(row_id, statuses.SENT):
        on_sent(row_id)
    db.session.commit()
    return "sent"
