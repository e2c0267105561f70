from flask_wtf import FlaskForm
from wtforms import ColorField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from app.crm.models import TagCategory


class TaxonomyValueForm(FlaskForm):
    value = StringField("Value", validators=[DataRequired(message="Enter a value."),
                                             Length(max=100, message="Keep it under 100 characters.")])


class MoveForm(FlaskForm):
    direction = SelectField("Direction", choices=[("up", "Up"), ("down", "Down")])


class TagEditForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="A tag needs a name."),
                                           Length(max=60, message="Keep the name under 60 characters.")])
    color = ColorField("Colour", default="#64748b",
                       validators=[Optional(), Regexp(r"^#[0-9a-fA-F]{6}$", message="Pick a colour like #16a34a.")])
    description = TextAreaField("Description", validators=[
        Optional(), Length(max=300, message="Keep the description under 300 characters.")])
    sort_order = IntegerField("Sort order", validators=[
        Optional(), NumberRange(min=0, max=100000, message="Use a number from 0 to 100000.")])


class TagForm(TagEditForm):
    category = SelectField("Category", choices=[(c.value, c.value.title()) for c in TagCategory],
                           default=TagCategory.CUSTOM.value)


class PipelineForm(FlaskForm):
    stale_after_days = IntegerField("Flag a lead as stale after this many days in one stage", validators=[
        InputRequired(message="Enter a number of days."),  # (DataRequired would call 0 missing)
        NumberRange(min=1, max=365, message="Use a number of days from 1 to 365.")])
