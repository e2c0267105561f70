"""One way to answer a page: the full template, or one of its blocks for htmx.

A page is one template; the parts htmx swaps are named `{% block %}`s. For an
htmx request that targets a part of the page we render only that block
(jinja2-fragments); boosted navigation (target = body) gets the whole page.
"""
from __future__ import annotations

import json

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    return is_htmx() and request.headers.get("HX-Request-Type") != "full"


def render(template: str, block: str | None = None, *, status: int = 200,
           trigger: dict | None = None, context: dict | None = None) -> Response:
    """The template's variables come only in `context`: nothing a view puts there can be
    taken for render's own arguments (a `status` filter once became the HTTP status line)."""
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise TypeError(f"render(status=...) takes an HTTP status code, not {status!r}")
    context = context or {}
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    if trigger:
        add_trigger(response, trigger)
    return response


def add_trigger(response: Response, events: dict) -> Response:
    """Merge events into HX-Trigger (e.g. {"toast": {"message": "Saved"}})."""
    current = response.headers.get("HX-Trigger")
    merged = json.loads(current) if current else {}
    merged.update(events)
    response.headers["HX-Trigger"] = json.dumps(merged)
    return response


# Sent with every answer that wrote activity; the lead page's timeline reloads on it
# (hx-trigger="activityChanged from:body").
ACTIVITY_CHANGED = "activityChanged"


def activity_changed(response: Response, message: str | None = None) -> Response:
    events: dict = {ACTIVITY_CHANGED: True}
    if message:
        events["toast"] = {"message": message, "level": "success"}
    return add_trigger(response, events)


def toast(response: Response, message: str, level: str = "success") -> Response:
    return add_trigger(response, {"toast": {"message": message, "level": level}})
