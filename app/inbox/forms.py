"""Forms every inbox channel shares."""
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import UUID, DataRequired


class AttachForm(FlaskForm):
    """Attach an unmatched item (a booking, a conversation) to the contact picked from the search."""

    contact_id = HiddenField("Contact", validators=[DataRequired(message="Pick a contact."),
                                                    UUID(message="Pick a contact.")])
