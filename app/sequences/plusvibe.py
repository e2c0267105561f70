"""Plusvibe (the cold-e-mail tool leads are imported from): one cadence at a time.

A lead from Plusvibe (its contact has a `plusvibe_lead_id`) gets `plusvibe_paused` when one
of our sequences starts for it, and `plusvibe_stopped` when the customer replies or books.
The flags are always ours to set; telling Plusvibe is an adapter behind `PlusvibeClient`,
chosen by PLUSVIBE_BACKEND: "none" (the default: nothing leaves this machine) or "http"
(PLUSVIBE_API_URL, PLUSVIBE_API_KEY, PLUSVIBE_WORKSPACE_ID). The call is a job (queue
"default", one per lead and state), never a request inside the engine's transaction.

UNVERIFIED: Plusvibe's public documentation of a per-lead status endpoint was not found;
HttpPlusvibe posts {"workspace_id", "lead_id", "status": "PAUSED" | "STOPPED"} to
`<PLUSVIBE_API_URL>/lead/status` with the `x-api-key` header — check against the account's
API reference before turning it on.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Protocol

from flask import current_app

from app.extensions import db
from app.queue import enqueue

log = logging.getLogger("crm.sequences")


class PlusvibeError(Exception):
    pass


class PlusvibeClient(Protocol):
    def set_status(self, plusvibe_lead_id: str, status: str) -> None: ...


class NoPlusvibe:
    """Off: the flags are set in our database only."""

    def set_status(self, plusvibe_lead_id: str, status: str) -> None:
        return None


class HttpPlusvibe:
    def __init__(self, url: str, api_key: str, workspace_id: str, timeout: float = 10.0):
        self.url, self.api_key, self.workspace_id, self.timeout = url.rstrip("/"), api_key, workspace_id, timeout

    def set_status(self, plusvibe_lead_id: str, status: str) -> None:
        body = json.dumps({"workspace_id": self.workspace_id, "lead_id": plusvibe_lead_id, "status": status})
        request = urllib.request.Request(f"{self.url}/lead/status", data=body.encode(), method="POST",
                                         headers={"x-api-key": self.api_key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):
                return None
        except urllib.error.HTTPError as exc:
            raise PlusvibeError(f"Plusvibe answered {exc.code}: {exc.read()[:200]!r}") from exc
        except (urllib.error.URLError, TimeoutError) as exc:
            raise PlusvibeError(f"Plusvibe could not be reached: {exc}") from exc


def enabled() -> bool:
    return (current_app.config.get("PLUSVIBE_BACKEND") or "none").lower() != "none"


def get_client() -> PlusvibeClient:
    backend = (current_app.config.get("PLUSVIBE_BACKEND") or "none").lower()
    if backend == "http":
        config = current_app.config
        return HttpPlusvibe(config["PLUSVIBE_API_URL"], config["PLUSVIBE_API_KEY"], config["PLUSVIBE_WORKSPACE_ID"])
    return NoPlusvibe()


def mark(lead, *, paused: bool = False, stopped: bool = False) -> bool:
    """Set the lead's flags (a lead from Plusvibe only) and ask the adapter to tell Plusvibe.
    True when a flag changed."""
    contact = lead.contact
    if contact is None or not contact.plusvibe_lead_id:
        return False
    changed = None
    if stopped and not lead.plusvibe_stopped:
        lead.plusvibe_stopped, changed = True, "STOPPED"
    elif paused and not lead.plusvibe_paused and not lead.plusvibe_stopped:
        lead.plusvibe_paused, changed = True, "PAUSED"
    if changed is None:
        return False
    db.session.flush()
    if enabled():
        enqueue("default", "app.sequences.jobs.tell_plusvibe", contact.plusvibe_lead_id, changed,
                job_id=f"plusvibe-{lead.id}-{changed}")
    return True
