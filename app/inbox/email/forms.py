from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from app.inbox.email.services import MAX_BODY, MAX_SUBJECT


def _stripped(message: str):
    def check(form, field) -> None:
        field.data = (field.data or "").strip()
        if not field.data:
            raise ValidationError(message)
    return check


def _uuid_or_empty(form, field) -> None:
    import uuid

    if field.data:
        try:
            uuid.UUID(field.data)
        except ValueError as exc:
            raise ValidationError("Not a thread.") from exc


class EmailForm(FlaskForm):
    subject = StringField("Subject", validators=[Length(max=MAX_SUBJECT), _stripped("Write a subject.")])
    body = TextAreaField("Message", validators=[Length(max=MAX_BODY), _stripped("Write a message first.")])
    thread_id = HiddenField(validators=[Optional(), Length(max=40), _uuid_or_empty])

