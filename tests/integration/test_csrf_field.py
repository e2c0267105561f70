"""The CSRF hidden input is written once (the `csrf_field` macro, a Jinja global): no template
writes it by hand, and it carries the session's token."""
from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_no_template_writes_the_csrf_input_by_hand():
    by_hand = [str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")
               if re.search(r"""name=["']csrf_token["']""", path.read_text())]
    assert by_hand == ["_macros/forms.html"]


def test_the_field_carries_the_sessions_token(app):
    from flask import render_template_string
    from flask_wtf.csrf import generate_csrf

    with app.test_request_context():
        html = render_template_string("{% block f %}{{ csrf_field() }}{% endblock %}")
        assert html == f'<input type="hidden" name="csrf_token" value="{generate_csrf()}">'
