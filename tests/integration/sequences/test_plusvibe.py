"""The Plusvibe adapter: off by default (flags only, no job); on ("http"), a job per change
posts to the configured API (a local server here: nothing leaves the machine)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select


class _Plusvibe(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append((self.path, self.headers.get("x-api-key"), json.loads(body)))
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "success"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def plusvibe_server():
    _Plusvibe.received, _Plusvibe.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Plusvibe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _jobs():
    from app.extensions import db
    from app.job_outbox.models import OutboxJob

    return db.session.scalars(select(OutboxJob).where(OutboxJob.func == "app.sequences.jobs.tell_plusvibe")).all()


def test_off_by_default_the_flags_are_set_and_nothing_is_sent(world, db_session):
    from app.crm.tags.services import apply_tag

    lead = world["lead"]
    lead.contact.plusvibe_lead_id = "pv-1"
    apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    assert lead.plusvibe_paused is True and _jobs() == []


def test_a_lead_not_from_plusvibe_is_left_alone(world, db_session):
    from app.crm.tags.services import apply_tag

    apply_tag(world["lead"], "interested", actor=world["rep"])
    db_session.commit()
    assert world["lead"].plusvibe_paused is False


def test_on_it_tells_plusvibe_through_a_job(world, db_session, app, monkeypatch, plusvibe_server):
    from app.crm.tags.services import apply_tag
    from app.sequences import jobs, plusvibe

    monkeypatch.setitem(app.config, "PLUSVIBE_BACKEND", "http")
    monkeypatch.setitem(app.config, "PLUSVIBE_API_URL", f"http://127.0.0.1:{plusvibe_server.server_port}/api/v1")
    monkeypatch.setitem(app.config, "PLUSVIBE_API_KEY", "pv-key")
    monkeypatch.setitem(app.config, "PLUSVIBE_WORKSPACE_ID", "ws-1")
    lead = world["lead"]
    lead.contact.plusvibe_lead_id = "pv-2"
    apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    [job] = _jobs()
    assert job.args["args"] == ["pv-2", "PAUSED"]
    assert jobs.tell_plusvibe(*job.args["args"]) == "paused"
    assert _Plusvibe.received == [("/api/v1/lead/status", "pv-key",
                                   {"workspace_id": "ws-1", "lead_id": "pv-2", "status": "PAUSED"})]
    _Plusvibe.status = 500
    with pytest.raises(plusvibe.PlusvibeError, match="500"):
        jobs.tell_plusvibe("pv-2", "STOPPED")  # the job fails; RQ retries it
