import uuid

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField
from wtforms.validators import DataRequired, Length, ValidationError

from app.inbox.queue.services import ACTIONS

MAX_IDS = 200


def _uuids(form, field):
    try:
        field.data = [str(uuid.UUID(v)) for v in field.data or []]
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValidationError("Pick conversations from the list.") from exc


class QueueActionForm(FlaskForm):
    """Done, archive, snooze or assign the checked conversations (one or many)."""

    action = SelectField("Action", choices=[(a, a) for a in ACTIONS],
                         validators=[DataRequired(message="Pick an action.")])
    ids = SelectMultipleField("Conversations", validate_choice=False,
                              validators=[DataRequired(message="Pick conversations from the list."),
                                          Length(max=MAX_IDS), _uuids])
    assignee_id = SelectField("Assign to", choices=[("", "Nobody")], validate_choice=False)

