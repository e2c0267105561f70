"""Sending a text (the conversation composer's SMS tab, app/inbox/thread/), the segment counter, the
gateways under Settings, and the development outbox of texts with "reply as the customer"."""
from __future__ import annotations

import uuid

from flask import abort, redirect, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.auth.permissions import INBOX, SETTINGS, can, require
from app.crm.models import Lead
from app.errors import get_or_404
from app.extensions import commit_keeping_loaded, db
from app.htmx import activity_changed, render
from app.inbox import bp
from app.inbox.models import SmsGateway
from app.inbox.sms import services
from app.inbox.sms.forms import GatewayForm, SegmentsForm, SmsForm
from app.inbox.sms.segments import count_segments
from app.inbox.thread.views import panel as thread_panel


@bp.post("/leads/<uuid:lead_id>/sms")
@require(INBOX)
def send_sms(lead_id):
    """The conversation composer's SMS tab: answers with the conversation card."""
    lead = get_or_404(Lead, lead_id)
    form = SmsForm()
    if not form.validate_on_submit():
        return thread_panel(lead, tab="sms", sms_form=form, status=422)
    try:
        services.send_sms(lead, body=form.body.data, actor=current_user)
    except services.SmsRefused as exc:
        db.session.rollback()
        return thread_panel(lead, tab="sms", sms_form=form, status=422, error=str(exc))
    commit_keeping_loaded()  # the card shows the lead, contact and rep this request has just read
    return activity_changed(thread_panel(lead, tab="sms"), "Text queued")


@bp.post("/sms/segments")
@require(INBOX)
def sms_segments():
    form = SegmentsForm()
    form.validate()
    return render("inbox/sms/_segments.html", context=dict(segments=count_segments(form.body.data or "")))


# --- gateways (Settings) ------------------------------------------------------------------

def _may_manage(gateway: SmsGateway | None) -> bool:
    return can(current_user, SETTINGS) or (gateway is not None and gateway.user_id == current_user.id)


def _gateway_form(gateway: SmsGateway | None, *, blank: bool) -> GatewayForm:
    from app.crm.records.queries import assignable_users

    form = GatewayForm(formdata=None, obj=gateway) if blank else GatewayForm()
    if can(current_user, SETTINGS):
        form.user_id.choices = [(str(u.id), u.full_name) for u in assignable_users()]
    else:  # a rep manages their own phone only
        form.user_id.choices = [(str(current_user.id), current_user.full_name)]
    if blank:
        form.user_id.data = str(gateway.user_id if gateway and gateway.user_id else current_user.id)
    return form


@bp.get("/settings/sms-gateways")
@require(INBOX)
def sms_gateways():
    query = select(SmsGateway).options(joinedload(SmsGateway.user)).order_by(SmsGateway.label)
    if not can(current_user, SETTINGS):
        query = query.where(SmsGateway.user_id == current_user.id)
    gateways = db.session.scalars(query).all()
    return render("inbox/sms/gateways.html", context=dict(
        gateways=gateways, offline={g.id: services.gateway_offline(g) for g in gateways}))


def _save(gateway: SmsGateway | None):
    form = _gateway_form(gateway, blank=False)
    error = None
    if form.validate_on_submit():
        try:
            services.save_gateway(
                gateway, user_id=uuid.UUID(form.user_id.data), label=form.label.data,
                gateway_url=form.gateway_url.data, username=form.username.data, password=form.password.data or None,
                from_number=form.from_number.data, is_active=form.is_active.data)
        except services.SmsRefused as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            return redirect(url_for("inbox.sms_gateways"))
    return render("inbox/sms/gateway_form.html", status=422,
                  context=dict(form=form, gateway=gateway, error=error))


@bp.get("/settings/sms-gateways/new")
@require(INBOX)
def new_sms_gateway():
    return render("inbox/sms/gateway_form.html",
                  context=dict(form=_gateway_form(None, blank=True), gateway=None, error=None))


@bp.post("/settings/sms-gateways/new")
@require(INBOX)
def create_sms_gateway():
    return _save(None)


@bp.get("/settings/sms-gateways/<uuid:gateway_id>")
@require(INBOX)
def edit_sms_gateway(gateway_id):
    gateway = get_or_404(SmsGateway, gateway_id)
    if not _may_manage(gateway):
        abort(403)
    return render("inbox/sms/gateway_form.html",
                  context=dict(form=_gateway_form(gateway, blank=True), gateway=gateway, error=None))


@bp.post("/settings/sms-gateways/<uuid:gateway_id>")
@require(INBOX)
def update_sms_gateway(gateway_id):
    gateway = get_or_404(SmsGateway, gateway_id)
    if not _may_manage(gateway):
        abort(403)
    return _save(gateway)
