from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.inbox.canned.services import NAME_MAX, SUBJECT_MAX
from app.inbox.models import TemplateCategory, TemplateChannel

CHANNEL_LABELS = {TemplateChannel.EMAIL: "E-mail", TemplateChannel.SMS: "SMS"}
CATEGORY_LABELS = {TemplateCategory.CANNED: "Canned reply", TemplateCategory.SEQUENCE: "Sequence step"}


class MessageTemplateForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Give the template a name."),
                                           Length(max=NAME_MAX)])
    channel = SelectField("Channel", choices=[(c.value, CHANNEL_LABELS[c]) for c in TemplateChannel],
                          default=TemplateChannel.EMAIL.value)
    category = SelectField("Use", choices=[(c.value, CATEGORY_LABELS[c]) for c in TemplateCategory],
                           default=TemplateCategory.CANNED.value)
    subject = StringField("Subject (e-mail)", validators=[Optional(), Length(max=SUBJECT_MAX)])
    body = TextAreaField("Message", validators=[DataRequired(message="Write the message.")],
                         render_kw={"rows": 9})


class PreviewForm(MessageTemplateForm):
    """The editor's fields plus the lead to preview against (not saved)."""

    lead_id = StringField("Preview for", validators=[Optional()])
