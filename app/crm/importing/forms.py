"""Forms of the CSV import: the upload, and the column mapping (one select per CRM field)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SelectMultipleField
from wtforms.validators import Optional

from app.crm.importing.services import FIELDS, SOURCES

NOT_IMPORTED = ""


class UploadForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")],
                     render_kw={"accept": ".csv,.txt,.tsv,text/csv"})


class RunForm(FlaskForm):
    """Starting the run: who gets the new companies (one rep, or several in turn)."""

    reps = SelectMultipleField("Assign the new companies to", coerce=str, validators=[Optional()])


def mapping_form(header: list[str], mapping: dict[str, str], source: str, formdata=None):
    """A form with a select per CRM field, its choices the file's columns."""
    detected = source
    choices = [(NOT_IMPORTED, "— not imported —")] + [(c, c) for c in header if c]

    class MappingForm(FlaskForm):
        source = SelectField("Source", choices=[(s.key, s.label) for s in SOURCES.values()],
                             default=detected)

    for f in FIELDS:
        setattr(MappingForm, f"map_{f.key}", SelectField(f.label, choices=choices,
                                                         default=mapping.get(f.key, NOT_IMPORTED)))
    form = MappingForm() if formdata is None else MappingForm(formdata=formdata)
    form.groups = [(group, [form[f"map_{f.key}"] for f in FIELDS if f.group == group])
                   for group in dict.fromkeys(f.group for f in FIELDS)]
    return form


def mapping_from(form) -> dict[str, str]:
    return {f.key: form[f"map_{f.key}"].data for f in FIELDS if form[f"map_{f.key}"].data}
