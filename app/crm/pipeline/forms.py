from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import Length, Optional


class StageForm(FlaskForm):
    """The lead page's stage control; `from_stage` is the stage the rep saw."""
    stage = SelectField("Stage", choices=[], validate_choice=False)
    from_stage = HiddenField()
    lost_reason = StringField("Reason (for Lost or Bogus)", validators=[Optional(), Length(max=500)])
