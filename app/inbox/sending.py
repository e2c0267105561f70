"""How an inbox channel's messages leave, the same for SMS and e-mail: the one hand-over of a
claimed message to its provider (`send_claimed`), and the one sweep for messages left SENDING
by a dead worker (`sweep_stuck_sends`, run by the job outbox relay once a minute, which asks
`reconcile_send` to settle each through its channel's reconciler — never a blind resend).

Hand-over: the job has claimed its row (QUEUED -> SENDING) and checked what may refuse it; from here SMS and
e-mail are the same: SENDING is committed before the provider hears of it (a worker killed
after this point leaves the row for the channel's reconciler, never a blind resend); a
temporary failure puts the row back to QUEUED and raises, so RQ retries it; a permanent one or
the last attempt marks it FAILED with the provider's reason; a delivery marks it SENT once."""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.extensions import db
from app.sequences import stops as sequence_stops

log = logging.getLogger("crm.inbox")


@dataclass(frozen=True)
class SendChannel:
    """A channel whose sends are rows claimed QUEUED -> SENDING: its RQ queue and the module
    holding `stuck_sends()` -> [(id, attempts)] and `reconcile(row_id)` -> what happened."""

    queue: str
    services: str


CHANNELS = {
    "sms": SendChannel(queue="sms", services="app.inbox.sms.services"),
    "email": SendChannel(queue="mail", services="app.inbox.email.outbound"),
}


def claim(services, statuses, row_id, channel: str) -> tuple[object | None, str | None]:
    """A send job's start, the same for every channel: claim the row (QUEUED -> SENDING in
    one conditional UPDATE) and refuse it when the lead may no longer be contacted (the flag may
    have changed since the row was queued). (claimed, None) to go on, else (None, the outcome:
    "not queued" — sent, failed or another run has it — or "refused", committed FAILED)."""
    claimed = services.claim_for_send(row_id)
    if claimed is None:
        db.session.rollback()
        return None, "not queued"
    reason = services.send_time_refusal(claimed)
    if reason:
        services.settle(claimed.id, statuses.FAILED, error=reason)
        db.session.commit()
        log.info("%s=%s refused at send time: %s", channel, claimed.id, reason)
        return None, "refused"
    return claimed, None


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


def _services(channel: str):
    return importlib.import_module(CHANNELS[channel].services)


def sweep_stuck_sends(channel: str | None = None) -> int:
    """Ask for a reconcile of every message left SENDING past its channel's delay (its worker
    died mid-send), on every channel or one. Run by the job outbox relay once a minute; the
    caller commits. The number of messages asked about."""
    from app.queue import enqueue

    asked = 0
    for name in ([channel] if channel else CHANNELS):
        rows = _services(name).stuck_sends()
        for row_id, attempts in rows:
            enqueue(CHANNELS[name].queue, "app.inbox.sending.reconcile_send", name, row_id,
                    job_id=f"{name}-reconcile-{row_id}-{attempts}")
        if rows:
            log.info("%s sweep asked to reconcile %d messages left sending", name, len(rows))
        asked += len(rows)
    return asked


def reconcile_send(channel: str, row_id: str) -> str:
    """The job: settle one message left SENDING through its channel's reconciler, commit."""
    outcome = _services(channel).reconcile(row_id)
    db.session.commit()
    log.info("%s=%s reconciled: %s", channel, row_id, outcome)
    return outcome
