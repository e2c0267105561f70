"""Sequence jobs (queue "default"): the engine's tick, and telling Plusvibe.

`tick` runs every 5 seconds (app/schedule.py) and is asked for when a run starts or resumes
(app.sequences.runs.kick); two ticks at once share the due runs (SKIP LOCKED), never a step."""
from __future__ import annotations

import logging

log = logging.getLogger("crm.sequences")


def tick() -> str:
    from app.sequences import engine

    outcome = engine.tick()
    if outcome.claimed:
        log.info("sequence tick: claimed=%d fired=%d skipped=%d failed=%d stopped=%d deferred=%d completed=%d "
                 "errors=%d", outcome.claimed, outcome.fired, outcome.skipped, outcome.failed, outcome.stopped,
                 outcome.deferred, outcome.completed, outcome.errors)
    return f"claimed {outcome.claimed}, fired {outcome.fired}"


def tell_plusvibe(plusvibe_lead_id: str, status: str) -> str:
    from app.sequences import plusvibe

    plusvibe.get_client().set_status(plusvibe_lead_id, status)
    return status.lower()
