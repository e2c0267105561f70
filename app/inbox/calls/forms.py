from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.inbox.calls.services import OUTCOME_LABELS, DurationRefused, parse_duration
from app.inbox.models import MessageDirection

DIRECTIONS = [(MessageDirection.OUTBOUND.value, "Outbound"), (MessageDirection.INBOUND.value, "Inbound")]
OUTCOMES = [(o.value, label) for o, label in OUTCOME_LABELS.items()]


class DurationField(StringField):
    """A call's length as typed (mm:ss or seconds); `.seconds` after validation."""

    seconds: int | None = None

    def pre_validate(self, form):
        try:
            self.seconds = parse_duration(self.data)
        except DurationRefused as exc:
            raise ValidationError(str(exc)) from exc


class CallForm(FlaskForm):
    """Log a call from the lead page."""

    direction = SelectField("Direction", choices=DIRECTIONS, default=MessageDirection.OUTBOUND.value)
    outcome = SelectField("Outcome", choices=OUTCOMES, validators=[DataRequired(message="Pick the outcome.")])
    duration = DurationField("Duration", validators=[Length(max=12)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])


class DialerForm(FlaskForm):
    """The dialer's outcome form (its buttons and the hotkeys post it)."""

    lead_id = HiddenField(validators=[DataRequired()])
    outcome = SelectField("Outcome", choices=[*OUTCOMES, ("DROP", "Drop voicemail"), ("SKIP", "Skip")],
                          validate_choice=True)
    duration = DurationField("Duration", validators=[Length(max=12)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])
    voicemail_drop_id = StringField("Voicemail drop", validators=[Optional(), Length(max=36)])


class CallListForm(FlaskForm):
    """'Call these' on /leads and /pipeline: the page's filter travels as hidden fields."""

    name = StringField("Name", validators=[Optional(), Length(max=200)])
    call_from = HiddenField()


class VoicemailDropForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Name the recording."), Length(max=200)])
    audio = FileField("Audio file (mp3, wav or m4a)")
    is_default = BooleanField("Default drop")
