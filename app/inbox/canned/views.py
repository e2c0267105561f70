"""Settings → Message templates (/settings/templates) and the composers' canned-reply picker
(/inbox/canned/...)."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.auth.permissions import INBOX, SETTINGS, require
from app.crm.models import Lead
from app.errors import get_or_404, uuid_or_404
from app.extensions import db
from app.htmx import is_htmx, render, toast
from app.inbox import bp
from app.inbox.canned import services
from app.inbox.canned.forms import CATEGORY_LABELS, CHANNEL_LABELS, MessageTemplateForm, PreviewForm
from app.inbox.canned.rendering import FIELDS, RenderRefused
from app.inbox.models import MessageTemplate, TemplateCategory, TemplateChannel

PREVIEW_LEADS = 50
LABELS = dict(channel_labels=CHANNEL_LABELS, category_labels=CATEGORY_LABELS)


def _preview_leads() -> list[Lead]:
    return list(db.session.scalars(select(Lead).options(joinedload(Lead.contact), joinedload(Lead.company))
                                   .order_by(Lead.last_activity_at.desc()).limit(PREVIEW_LEADS)).all())


def _editor(form: MessageTemplateForm, template: MessageTemplate | None, *, status: int = 200):
    return render("inbox/canned/edit.html", "editor", status=status, context=dict(
        form=form, template=template, fields=FIELDS, leads=_preview_leads(), **LABELS))


@bp.get("/settings/templates")
@require(SETTINGS)
def canned_templates():
    return render("inbox/canned/index.html", context=dict(templates=services.all_templates(), **LABELS))


def _save(template: MessageTemplate | None):
    form = MessageTemplateForm()
    if not form.validate_on_submit():
        return _editor(form, template, status=422)
    try:
        saved = services.save_template(
            template, name=form.name.data, channel=TemplateChannel(form.channel.data),
            category=TemplateCategory(form.category.data), subject=form.subject.data,
            body=form.body.data, actor=current_user)
    except services.TemplateInvalid as exc:
        db.session.rollback()
        for key, messages in exc.errors.items():
            getattr(form, key).errors = list(getattr(form, key).errors) + messages
        return _editor(form, template, status=422)
    db.session.commit()
    flash(f"Saved “{saved.name}”.", "success")
    return redirect(url_for("inbox.canned_templates"), 303)


@bp.route("/settings/templates/new", methods=["GET", "POST"])
@require(SETTINGS)
def new_canned_template():
    if request.method == "POST":
        return _save(None)
    form = MessageTemplateForm(formdata=None, channel=request.args.get("channel", TemplateChannel.EMAIL.value))
    return _editor(form, None)


@bp.route("/settings/templates/<template_id>", methods=["GET", "POST"])
@require(SETTINGS)
def edit_canned_template(template_id: str):
    template = get_or_404(MessageTemplate, template_id)
    if request.method == "POST":
        return _save(template)
    form = MessageTemplateForm(formdata=None, obj=template, channel=template.channel.value,
                               category=template.category.value)
    return _editor(form, template)


@bp.post("/settings/templates/<template_id>/archive")
@require(SETTINGS)
def archive_canned_template(template_id: str):
    return _set_active(template_id, False)


@bp.post("/settings/templates/<template_id>/restore")
@require(SETTINGS)
def restore_canned_template(template_id: str):
    return _set_active(template_id, True)


def _set_active(template_id: str, active: bool):
    template = get_or_404(MessageTemplate, template_id)
    services.set_active(template, active, actor=current_user)
    db.session.commit()
    message = f"“{template.name}” {'is back' if active else 'is archived'}"
    if is_htmx():
        response = render("inbox/canned/index.html", "template_list",
                          context=dict(templates=services.all_templates(), **LABELS))
        return toast(response, message)
    flash(message, "success")
    return redirect(url_for("inbox.canned_templates"), 303)


@bp.post("/settings/templates/preview")
@require(SETTINGS)
def preview_canned_template():
    """The editor's text rendered for a chosen lead (not saved): the message, or why not."""
    form = PreviewForm()
    form.validate()  # the fields' own messages are the editor's; the preview says its own
    lead = None
    if form.lead_id.data:
        lead = db.session.get(Lead, uuid_or_404(form.lead_id.data))
    context = dict(lead=lead, rendered=None, refusal=None, segments=None)
    if lead is None:
        context["refusal"] = "Choose a lead to preview the message with its data."
    else:
        try:
            channel = TemplateChannel(form.channel.data)
        except ValueError:
            abort(422)
        draft = MessageTemplate(name=form.name.data or "This template", channel=channel,
                                subject=(form.subject.data or None) if channel is TemplateChannel.EMAIL else None,
                                body=form.body.data or "")
        try:
            context["rendered"] = services.render_for_lead(draft, lead=lead, rep=current_user)
        except RenderRefused as exc:
            context["refusal"] = str(exc)
        else:
            if channel is TemplateChannel.SMS:
                context["segments"] = services.sms_segments(context["rendered"].body)
    return render("inbox/canned/_preview.html", context=context)


# ------------------------------------------------------------ the composers' picker

def _channel_or_404(raw: str | None) -> TemplateChannel:
    try:
        return TemplateChannel((raw or "").upper())
    except ValueError:
        abort(404)


@bp.get("/inbox/canned/picker")
@require(INBOX)
def canned_picker():
    """The list of canned replies for one channel (loaded lazily by a composer)."""
    channel = _channel_or_404(request.args.get("channel"))
    lead = get_or_404(Lead, request.args.get("lead_id", ""))
    return render("inbox/canned/_picker.html", context=dict(
        channel=channel, lead=lead, templates=services.canned_templates(channel)))


@bp.get("/inbox/canned/render")
@require(INBOX)
def render_canned_reply():
    """A canned reply rendered for the lead (a fragment static/js/canned.js copies into the
    composer's subject and body), or the refusal shown in the picker (422)."""
    lead = get_or_404(Lead, request.args.get("lead_id", ""))
    template_id = request.args.get("template_id", "")
    try:
        message = services.render_canned(template_id, lead=lead, rep=current_user)
    except RenderRefused as exc:
        return render("inbox/canned/_picker_result.html", status=422, context=dict(refusal=str(exc)))
    segments = services.sms_segments(message.body) if message.subject is None else None
    return render("inbox/canned/_picker_result.html", context=dict(refusal=None, message=message,
                                                                   segments=segments))
