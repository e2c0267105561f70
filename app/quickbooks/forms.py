from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from app.quickbooks.models import LedgerState

STATE_CHOICES = [("", "All")] + [(s.value, s.value.replace("_", " ").title()) for s in LedgerState]


class LedgerFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter

    state = SelectField("State", choices=STATE_CHOICES, default="")


class ResolveForm(FlaskForm):
    choice = SelectField("Resolve", choices=[("link", "Link"), ("create", "Create new"), ("skip", "Skip")])
    remote_id = StringField("QuickBooks record", validators=[Optional(), Length(max=50)])
