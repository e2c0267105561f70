from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

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


_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def _host_name(form, field) -> None:
    field.data = (field.data or "").strip()
    if not _HOST.match(field.data):
        raise ValidationError("Enter a host name, e.g. smtp.example.com.")


class EmailForm(FlaskForm):
    subject = StringField("Subject", validators=[Length(max=MAX_SUBJECT), _stripped("Write a subject.")])
    body = TextAreaField("Message", validators=[Length(max=MAX_BODY), _stripped("Write a message first.")])
    thread_id = HiddenField(validators=[Optional(), Length(max=40), _uuid_or_empty])


class SmtpAccountForm(FlaskForm):
    """An SMTP account (outbound only): the rep's own address through their mail server."""

    email_address = StringField("Sends as (address)", validators=[
        DataRequired(message="Enter the address e-mails are sent from."), Length(max=254),
        Email(message="Enter an e-mail address.")])
    display_name = StringField("Name shown to customers", validators=[Optional(), Length(max=120)])
    smtp_host = StringField("SMTP server", validators=[DataRequired(message="Enter the server's host name."),
                                                       Length(max=253), _host_name])
    smtp_port = IntegerField("Port", default=587, validators=[
        InputRequired(message="Enter the port."), NumberRange(min=1, max=65535, message="A port is 1 to 65535.")])
    smtp_user = StringField("Username", validators=[Optional(), Length(max=254)])
    smtp_pass = PasswordField("Password", validators=[Optional(), Length(max=500)])
