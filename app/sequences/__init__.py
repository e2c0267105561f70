"""Sequences: a disposition tag starts a cadence of e-mail, SMS, call, task and wait steps.

definitions.py: the definition's JSON document (schema, check, save); runs.py: start (the tag's
listener), stop, pause, resume, cancel; engine.py: the tick that does each step exactly once;
stops.py: the stop rules and the hooks the inbox's ingest points call; windows.py: the
contact's time zone, send windows, waits; plusvibe.py: the Plusvibe adapter; queries.py: the
pages' reads; views.py: Settings → Sequences, the runs, the lead page's panel.

Modules imported at load time here must not import the inbox's services (they import stops).
"""
from flask import Blueprint

bp = Blueprint("sequences", __name__)

from app.sequences import views  # noqa: E402,F401
