"""Forms every inbox channel shares."""
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField
from wtforms.validators import UUID, DataRequired, Length, Optional

from app.forms import phone_number


class AttachForm(FlaskForm):
    """Attach an unmatched item (a booking, a conversation) to the contact picked from the search."""

    contact_id = HiddenField("Contact", validators=[DataRequired(message="Pick a contact."),
                                                    UUID(message="Pick a contact.")])


class NewLeadForm(FlaskForm):
    """Create the contact and lead an unmatched sender is (prefilled from what they sent)."""

    company_name = StringField("Company", validators=[DataRequired(message="Name the company."), Length(max=200)])
    first_name = StringField("First name", validators=[Optional(), Length(max=80)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=80)])
    email = EmailField("E-mail", validators=[Optional(), Length(max=254)])
    phone = StringField("Phone", validators=[Optional(), Length(max=40), phone_number])


class CustomerReplyForm(FlaskForm):
    """Development: what the customer answers to a text or an e-mail of the outbox backends."""

    body = StringField("Reply as the customer", validators=[
        DataRequired(message="Write the customer's reply."), Length(max=1600)])
