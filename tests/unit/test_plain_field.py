"""`plain_field` and `hidden_tag` (templates/_macros/forms.html) write what WTForms' widgets
write through `field` and `form.hidden_tag()`, for every state a form is shown in: blank, with
a default, re-shown with the posted values and their errors, with a hint."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask, get_template_attribute
from werkzeug.datastructures import MultiDict
from wtforms import DateTimeLocalField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.crm.pipeline.forms import StageForm
from app.crm.records.forms import NoteBodyForm
from app.crm.tasks.forms import TaskForm

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture
def app():
    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=True)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    with app.test_request_context():
        yield app


def both(field, **kwargs):
    wtforms = get_template_attribute("_macros/forms.html", "field")(field, **kwargs)
    plain = get_template_attribute("_macros/forms.html", "plain_field")(field, **kwargs)
    return wtforms, plain


def task_form(data=None) -> TaskForm:
    form = TaskForm(formdata=MultiDict(data) if data is not None else None)
    form.assigned_to.choices = [("a1", "Ann <Admin>"), ("b2", "Bo & Co"), ("c3", 'Cy "Q"')]
    return form


@pytest.mark.parametrize("data", [
    None,  # blank: the defaults
    {},  # posted empty: every error
    {"title": 'Call "Acme" <back> & more', "task_type": "CALL", "priority": "HIGH",
     "due_at": "2026-11-30T09:30", "assigned_to": "b2"},
    {"title": "x" * 201, "task_type": "NOPE", "priority": "LOW", "due_at": "not a date", "assigned_to": "zz"},
])
def test_the_task_form_reads_the_same(app, data):
    form = task_form(data)
    if data is not None:
        form.validate()
    for name in ("title", "task_type", "priority", "due_at", "assigned_to"):
        wtforms, plain = both(form[name])
        assert plain == wtforms, name
        assert both(form[name], hint="A hint", class_="wide")[1] == both(form[name], hint="A hint", class_="wide")[0]


@pytest.mark.parametrize("body", [None, "", "   ", "Line one\r\n<b>two</b> & \"three\"", "y" * 10_001])
def test_the_note_form_reads_the_same(app, body):
    form = NoteBodyForm(formdata=None if body is None else MultiDict({"note-body": body}), prefix="note")
    if body is not None:
        form.validate()
    wtforms, plain = both(form.body)
    assert plain == wtforms


def test_hidden_tag_writes_the_csrf_token_and_hidden_fields_as_flask_wtf_does(app):
    stage = StageForm(formdata=None, data={"stage": "HOT", "from_stage": 'H"OT<'})
    note = NoteBodyForm(formdata=None, prefix="note")
    hidden_tag = get_template_attribute("_macros/forms.html", "hidden_tag")
    for form in (stage, note, task_form()):
        assert hidden_tag(form) == form.hidden_tag()
    assert 'name="from_stage"' in hidden_tag(stage) and 'name="note-csrf_token"' in hidden_tag(note)


def test_fields_it_does_not_write_go_through_wtforms(app):
    from flask_wtf import FlaskForm

    class Other(FlaskForm):
        number = IntegerField("Number", validators=[Optional()])
        placeholder = StringField("With render_kw", render_kw={"placeholder": "Type"})
        patterned = StringField("Pattern", validators=[Length(min=2, max=5), DataRequired()])
        text = TextAreaField("Text", validators=[Length(min=3)])
        when = DateTimeLocalField("When", format="%Y-%m-%dT%H:%M")

    form = Other(formdata=MultiDict({"number": "x", "patterned": "toolong", "text": "ab"}))
    form.validate()
    for field in form:
        if field.type != "CSRFTokenField":
            wtforms, plain = both(field)
            assert plain == wtforms, field.name
