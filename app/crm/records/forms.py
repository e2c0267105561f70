from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.crm.models import CompanyStatus, LeadStage
from app.crm.records.notes import MAX_BODY as MAX_NOTE
from app.forms import MoneyField, WebsiteField, phone_number

COMPANY_STATUSES = [(s.value, s.value.title()) for s in CompanyStatus]


class CompanyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="A company needs a name."), Length(max=200)])
    website = WebsiteField("Website", validators=[Optional(), Length(max=300)])
    phone = StringField("Phone", validators=[Optional(), Length(max=40), phone_number])
    industry = SelectField("Industry", choices=[], validate_choice=False)
    fleet_size = IntegerField("Fleet size", validators=[Optional(), NumberRange(min=0, max=100000)])
    source = SelectField("Source", choices=[], validate_choice=False)
    assigned_rep_id = SelectField("Assigned rep", choices=[], validate_choice=True)
    status = SelectField("Status", choices=COMPANY_STATUSES, default=CompanyStatus.LEAD.value)
    google_place_id = StringField("Google place id", validators=[Optional(), Length(max=200)])
    taxable = BooleanField("Taxable", default=True)
    sales_note = TextAreaField("Sales note", validators=[Optional(), Length(max=4000)])
    confirm_duplicate = HiddenField()


class ContactForm(FlaskForm):
    first_name = StringField("First name", validators=[Optional(), Length(max=80)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=80)])
    title = StringField("Title", validators=[Optional(), Length(max=120)])
    email = EmailField("E-mail", validators=[Optional(), Length(max=254)])
    phone = StringField("Phone", validators=[Optional(), Length(max=40), phone_number])
    confirm_duplicate = HiddenField()


class _LeadFields(FlaskForm):
    contact_id = SelectField("Contact", choices=[], validate_choice=True)
    source = SelectField("Source", choices=[], validate_choice=False)
    estimated_units = IntegerField("Estimated units", validators=[Optional(), NumberRange(min=0, max=100000)])
    estimated_revenue = MoneyField("Estimated revenue ($)", validators=[Optional()])


class LeadForm(_LeadFields):
    """Open a lead (its first stage is chosen here; later moves go through the pipeline)."""
    stage = SelectField("Stage", choices=[(s.value, s.value) for s in LeadStage], default=LeadStage.NEW_LEAD.value)


class LeadEditForm(_LeadFields):
    source_campaign = StringField("Campaign", validators=[Optional(), Length(max=200)])
    is_dnc = BooleanField("Do not contact (no calls, e-mails or texts)")


class NoteBodyForm(FlaskForm):
    body = TextAreaField("Note", validators=[DataRequired(message="Write something first."), Length(max=MAX_NOTE)])
