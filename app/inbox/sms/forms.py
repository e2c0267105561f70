from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.forms import phone_number
from app.inbox.sms.segments import MAX_SEGMENTS, count_segments

MAX_BODY_CHARS = 1600  # 10 GSM-7 parts; the segment rule below is the real limit


def sms_body(form, field) -> None:
    text = (field.data or "").strip()
    field.data = text
    if not text:
        raise ValidationError("Write a message first.")
    parts = count_segments(text)
    if parts.too_long:
        raise ValidationError(f"Too long: {parts.segments} parts ({parts.encoding}); at most {MAX_SEGMENTS}.")


def http_url(form, field) -> None:
    parts = urlsplit((field.data or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("Enter the gateway's address, e.g. https://api.sms-gate.app/3rdparty/v1.")


class SmsForm(FlaskForm):
    body = TextAreaField("Message", validators=[Length(max=MAX_BODY_CHARS * 2), sms_body])


class SegmentsForm(FlaskForm):
    class Meta:
        csrf = False  # computes a count, changes nothing

    body = TextAreaField("Message", validators=[Optional(), Length(max=MAX_BODY_CHARS * 4)])


class GatewayForm(FlaskForm):
    label = StringField("Label", validators=[DataRequired(message="Name the phone."), Length(max=100)])
    gateway_url = StringField("Gateway address", validators=[DataRequired(message="Enter the address."),
                                                             Length(max=300), http_url])
    username = StringField("Username", validators=[DataRequired(message="Enter the username."), Length(max=200)])
    password = PasswordField("Password", validators=[Length(max=500)])
    from_number = StringField("Phone number", validators=[DataRequired(message="Enter the phone's number."),
                                                          Length(max=40), phone_number])
    user_id = SelectField("Rep", choices=[], validate_choice=True)
    is_active = BooleanField("In use", default=True)
