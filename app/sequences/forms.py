from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.crm.models import TaskPriority, TaskType
from app.sequences.definitions import MAX_STEPS, TEXT_MAX

STEP_LABELS = {"": "—", "email": "Send e-mail", "sms": "Send SMS", "call": "Call (task + dialer)",
               "task": "Task", "wait": "Wait"}
UNIT_LABELS = {"hours": "hours", "business_days": "business days"}
DAY_LABELS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
EMPTY_ROWS = 2  # blank step rows offered below the definition's steps


class StepForm(Form):
    """One step row (a blank type: the row is ignored)."""

    type = SelectField("Step", choices=list(STEP_LABELS.items()), default="")
    template_id = SelectField("Template", choices=[("", "—")], default="", validate_choice=False)
    amount = StringField("Wait", validators=[Optional(), Length(max=6)])
    unit = SelectField("Unit", choices=list(UNIT_LABELS.items()), default="hours")
    task_type = SelectField("Task type", choices=[(t.name, t.name.replace("_", " ").title()) for t in TaskType],
                            default=TaskType.FOLLOW_UP.name)
    priority = SelectField("Priority", choices=[(p.name, p.name.title()) for p in TaskPriority],
                           default=TaskPriority.NORMAL.name)
    text = StringField("Text", validators=[Optional(), Length(max=TEXT_MAX)])

    def as_dict(self) -> dict:
        return {"type": self.type.data, "template_id": self.template_id.data, "amount": self.amount.data,
                "unit": self.unit.data, "task_type": self.task_type.data, "priority": self.priority.data,
                "text": self.text.data}


class DefinitionForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Give the sequence a name."), Length(max=120)])
    tag_slug = SelectField("Started by the tag", choices=[], validate_choice=False)
    description = TextAreaField("Description", validators=[Optional(), Length(max=1000)], render_kw={"rows": 2})
    is_active = BooleanField("Active (new tags start runs)", default=True)
    days = SelectMultipleField("Send on", choices=[(str(i), d) for i, d in enumerate(DAY_LABELS)],
                               default=["0", "1", "2", "3", "4"], widget=ListWidget(prefix_label=False),
                               option_widget=CheckboxInput(), validate_choice=False)
    start = StringField("From", default="09:00", validators=[Length(max=5)])
    end = StringField("To", default="17:00", validators=[Length(max=5)])
    steps = FieldList(FormField(StepForm), min_entries=1, max_entries=MAX_STEPS + EMPTY_ROWS)

    def set_choices(self, tags, templates) -> None:
        self.tag_slug.choices = [("", "Choose a disposition tag…")] + [(t.slug, t.name) for t in tags]
        options = [("", "—")] + [(str(t.id), f"{'E-mail' if t.channel.value == 'EMAIL' else 'SMS'}: {t.name}")
                                 for t in templates]
        for entry in self.steps:
            entry.template_id.choices = options

    def step_dicts(self) -> list[dict]:
        return [entry.form.as_dict() for entry in self.steps if entry.form.type.data]

    def window(self) -> dict:
        return {"days": [d for d in (self.days.data or []) if d.isdigit()], "start": (self.start.data or "").strip(),
                "end": (self.end.data or "").strip()}


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(message="Say why."), Length(max=500)])
