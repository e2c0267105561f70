"""Calls: logging one (the conversation composer's Log call tab, app/inbox/thread/), call lists, the power dialer, voicemail drops."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, redirect, request, send_file, url_for
from flask_login import current_user, login_required

from app.auth.permissions import INBOX, SETTINGS, require
from app.crm.models import Lead
from app.crm.records import lead_list
from app.errors import get_or_404
from app.extensions import db
from app.htmx import activity_changed, add_trigger, is_htmx, render
from app.inbox import bp
from app.inbox.calls import queries, services, voicemail
from app.inbox.calls.forms import CallForm, CallListForm, DialerForm, VoicemailDropForm
from app.inbox.models import CallList, CallOutcome, MessageDirection, VoicemailDrop
from app.inbox.thread.views import panel as thread_panel
from app.security import body_limit

# ----------------------------------------------------------------------------- the lead page


@bp.post("/leads/<lead_id>/calls")
@require(INBOX)
def log_lead_call(lead_id: str):
    lead = get_or_404(Lead, lead_id)
    form = CallForm()
    if not form.validate():
        if not is_htmx():
            return render("inbox/calls/log_call.html", context=dict(lead=lead, form=form), status=422)
        return thread_panel(lead, tab="call", call_form=form, status=422)
    services.log_call(lead, actor=current_user, direction=MessageDirection(form.direction.data),
                      outcome=CallOutcome(form.outcome.data), duration_seconds=form.duration.seconds,
                      notes=form.notes.data)
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("crm.lead", lead_id=lead.id))
    return activity_changed(thread_panel(lead, tab="call"), "Call logged")


# ----------------------------------------------------------------------------- call lists


@bp.get("/calls")
@require(INBOX)
def calls():
    return render("inbox/calls/lists.html", context=dict(lists=queries.call_lists()))


def _list_name(page: str, query: lead_list.ListQuery) -> str:
    """e.g. 'Board (mine, source Google Maps) · 27 Nov 16:07'."""
    f = query.filters
    parts = [label for label, on in (("mine", f.mine), ("one rep", f.rep_id), ("one import", query.import_token))
             if on]
    parts += [f"{label} {value}" for label, value in (("search", f.q), ("source", f.source), ("tag", f.tag),
                                                      ("stage", query.stage and query.stage.value)) if value]
    when = datetime.now(UTC).strftime("%d %b %H:%M")
    return f"{'Board' if page == 'pipeline' else 'Leads'}{' (' + ', '.join(parts) + ')' if parts else ''} · {when}"


@bp.post("/calls/lists")
@require(INBOX)
def create_call_list():
    """'Call these' on /leads or /pipeline: snapshot the leads the page's filter matches."""
    form = CallListForm()
    page = "pipeline" if form.call_from.data == "pipeline" else "leads"
    back = url_for("crm.pipeline" if page == "pipeline" else "crm.leads")
    if not form.validate():
        return add_trigger(render("inbox/calls/call_list_refused.html", context=dict(
            message="The list could not be made.", back=back), status=422), {"toast": {
                "message": "The list could not be made.", "level": "error"}})
    query = lead_list.ListQuery.from_args(request.form)
    if page == "pipeline":  # the board has no stage, sort or import filter
        query = lead_list.ListQuery(query.filters)
    lead_ids = lead_list.matching_lead_ids(query, current_user.id, limit=services.MAX_LIST_SIZE)
    if not lead_ids:
        message = "No leads match this filter: nothing to call."
        return add_trigger(render("inbox/calls/call_list_refused.html", context=dict(message=message, back=back),
                                  status=422), {"toast": {"message": message, "level": "error"}})
    criteria = {"page": page, "args": query.as_args(), "user_id": str(current_user.id) if query.filters.mine else None}
    call_list = services.create_call_list((form.name.data or "").strip() or _list_name(page, query), lead_ids,
                                          criteria, actor=current_user)
    db.session.commit()
    target = url_for("inbox.dial", list_id=call_list.id)
    if is_htmx():
        response = redirect(target)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


# ----------------------------------------------------------------------------- the dialer


def _dialer(call_list: CallList, form: DialerForm | None = None, status: int = 200, error: str | None = None):
    claim = services.open_claim(call_list, current_user.id)
    ctx = queries.lead_context(claim.lead_id) if claim else None
    drops = queries.voicemail_drops()
    if form is None or (ctx and form.lead_id.data != str(ctx.lead.id)):
        form = DialerForm(formdata=None)
    if ctx:
        form.lead_id.data = str(ctx.lead.id)
    default_drop = next((d for d in drops if d.is_default), drops[0] if drops else None)
    return render("inbox/calls/dialer.html", context=dict(
        call_list=call_list, ctx=ctx, form=form, drops=drops, default_drop=default_drop, error=error,
        labels=services.OUTCOME_LABELS, hotkeys=services.HOTKEYS, duration=services.format_duration,
        done=call_list.position,
        size=len(call_list.lead_ids), left=ctx is not None or services.any_claimable(call_list)), status=status)


@bp.get("/calls/lists/<list_id>/dial")
@require(INBOX)
def dial(list_id: str):
    """The rep's current lead of the list: their claim, stored, so a reload shows the same lead."""
    return _dialer(get_or_404(CallList, list_id))


@bp.post("/calls/lists/<list_id>/next")
@require(INBOX)
def dial_next(list_id: str):
    """Take the next lead of the list (the rep's current one if they hold one)."""
    call_list = get_or_404(CallList, list_id)
    services.claim_next(call_list, current_user)
    db.session.commit()
    return redirect(url_for("inbox.dial", list_id=call_list.id), code=303)


@bp.post("/calls/lists/<list_id>/dial")
@require(INBOX)
def dial_outcome(list_id: str):
    """An outcome for the rep's current lead (a button or a hotkey: the same form), or skip;
    then the next lead is claimed for them."""
    call_list = get_or_404(CallList, list_id)
    form = DialerForm()
    if not form.validate():
        return _dialer(call_list, form, status=422, error="Check the duration and notes.")
    try:
        with db.session.begin_nested():  # a refused outcome leaves nothing behind
            services.record_dial_outcome(call_list, current_user, services.parse_uuid(form.lead_id.data),
                                         form.outcome.data, duration_seconds=form.duration.seconds,
                                         notes=form.notes.data,
                                         voicemail_drop_id=services.parse_uuid(form.voicemail_drop_id.data))
    except services.ClaimMoved as exc:
        return _dialer(call_list, status=409, error=str(exc))
    except services.NoSuchDrop as exc:
        return _dialer(call_list, form, status=422, error=str(exc))
    db.session.commit()
    return redirect(url_for("inbox.dial", list_id=call_list.id), code=303)


# ----------------------------------------------------------------------------- voicemail drops


def _drops_page(form: VoicemailDropForm, status: int = 200, error: str | None = None):
    return render("inbox/calls/voicemail_drops.html", context=dict(
        form=form, drops=queries.voicemail_drops(), error=error, duration=services.format_duration), status=status)


@bp.get("/settings/voicemail-drops")
@require(SETTINGS)
def voicemail_drops():
    return _drops_page(VoicemailDropForm(formdata=None))


@bp.post("/settings/voicemail-drops")
@require(SETTINGS)
@body_limit(voicemail.MAX_BYTES + 64 * 1024)
def upload_voicemail_drop():
    form = VoicemailDropForm()
    upload = request.files.get("audio")
    if not form.validate():
        return _drops_page(form, status=422)
    if upload is None or not upload.filename:
        return _drops_page(form, status=422, error="Choose an audio file.")
    try:
        voicemail.create_drop(form.name.data, upload.stream, upload.filename, is_default=form.is_default.data,
                              actor=current_user,
                              audio_url_for=lambda drop_id: url_for("inbox.voicemail_audio", drop_id=drop_id))
    except voicemail.AudioRefused as exc:  # refused before anything was written
        return _drops_page(form, status=422, error=str(exc))
    db.session.commit()
    return redirect(url_for("inbox.voicemail_drops"), code=303)


@bp.post("/settings/voicemail-drops/<drop_id>/delete")
@require(SETTINGS)
def delete_voicemail_drop(drop_id: str):
    drop = get_or_404(VoicemailDrop, drop_id)
    file_name = voicemail.delete_drop(drop, actor=current_user)
    db.session.commit()
    voicemail.remove_file(file_name)
    return redirect(url_for("inbox.voicemail_drops"), code=303)


@bp.get("/settings/voicemail-drops/<drop_id>/audio")
@login_required
def voicemail_audio(drop_id: str):
    """The recording, to signed-in users only (never a public or static URL)."""
    drop = get_or_404(VoicemailDrop, drop_id)
    path = voicemail.file_path(drop)
    if path is None:
        abort(404)
    return send_file(path, mimetype=voicemail.content_type(drop), conditional=True, max_age=0,
                     download_name=f"{drop.name}{path.suffix}")
