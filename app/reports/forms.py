from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.crm.pipeline.moves import STAGE_LABELS
from app.reports.saved_views import LABELS
from app.reports.settings import MAX_REASON_LENGTH, MAX_REASONS, MAX_THRESHOLD, OPEN_STAGES


class ProbabilitiesForm(FlaskForm):
    """A percent per open stage (fields named after the stages)."""


for _stage in OPEN_STAGES:
    setattr(ProbabilitiesForm, _stage.value.lower(), IntegerField(
        f"{STAGE_LABELS[_stage]} (%)", validators=[
            InputRequired(message="Enter a percent."),
            NumberRange(min=0, max=100, message="Use a percent from 0 to 100.")]))


class LowStockForm(FlaskForm):
    model = StringField("Device model", validators=[DataRequired(message="Name the model."),
                                                    Length(max=60, message="Keep it under 60 characters.")])
    threshold = IntegerField("Warn when this many or fewer are in stock (blank: no warning)", validators=[
        Optional(), NumberRange(min=0, max=MAX_THRESHOLD, message=f"Use a number from 0 to {MAX_THRESHOLD}.")])


class LostReasonsForm(FlaskForm):
    reasons = TextAreaField("Reasons, one a line", validators=[
        Length(max=MAX_REASONS * (MAX_REASON_LENGTH + 2), message="That is too long.")])

    def validate_reasons(self, field):
        from wtforms import ValidationError

        from app.reports.settings import clean_reasons

        reasons = clean_reasons(field.data)
        if len(reasons) > MAX_REASONS:
            raise ValidationError(f"Keep it to {MAX_REASONS} reasons.")
        if any(len(" ".join(line.split())) > MAX_REASON_LENGTH for line in (field.data or "").splitlines()):
            raise ValidationError(f"Keep each reason under {MAX_REASON_LENGTH} characters.")


class SavedViewForm(FlaskForm):
    list_name = SelectField("List", choices=list(LABELS.items()))
    query = HiddenField("Filters", validators=[Length(max=1000, message="Those filters are too long to save.")])
    name = StringField("Name", validators=[DataRequired(message="Name the view."),
                                           Length(max=60, message="Keep the name under 60 characters.")])
    shared = BooleanField("Share with the team")
    make_default = BooleanField("Open the list with it")


class ExportForm(FlaskForm):
    """Prepare a list's CSV in the background (a list too large to stream)."""

    list_name = SelectField("List", choices=[("leads", "Leads"), ("companies", "Companies"), ("invoices", "Invoices"),
                                             ("tasks", "Tasks"), ("inbox", "Inbox")])
    query = HiddenField("Filters", validators=[Length(max=2000, message="Those filters are too long.")])
