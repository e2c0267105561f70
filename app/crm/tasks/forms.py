from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.crm.models import TaskPriority, TaskType

TASK_TYPES = [(t.value, t.value.replace("_", " ").title()) for t in TaskType]
PRIORITIES = [(p.value, p.value.title()) for p in TaskPriority]


class TaskForm(FlaskForm):
    title = StringField("Task", validators=[DataRequired(message="Say what needs doing."), Length(max=200)])
    task_type = SelectField("Type", choices=TASK_TYPES, default=TaskType.FOLLOW_UP.value)
    priority = SelectField("Priority", choices=PRIORITIES, default=TaskPriority.NORMAL.value)
    due_at = DateTimeLocalField("Due", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    assigned_to = SelectField("Assignee", choices=[], validate_choice=True)
