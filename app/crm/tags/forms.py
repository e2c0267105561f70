from flask_wtf import FlaskForm
from wtforms import SelectField


class TagForm(FlaskForm):
    slug = SelectField("Tag", choices=[], validate_choice=True)
