"""The contact page (details, leads, activity) and merging two contacts."""
from flask import abort, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.auth.permissions import MERGE_RECORDS, SALES, can, require
from app.crm import bp
from app.crm.models import Contact
from app.crm.pipeline.moves import STAGE_LABELS
from app.crm.records import services as records
from app.crm.records.edit_views import merge_posted, merge_requested
from app.errors import uuid_or_404
from app.extensions import db
from app.htmx import render


def _contact_or_404(contact_id) -> Contact:
    contact = db.session.scalar(select(Contact).where(Contact.id == uuid_or_404(contact_id)).options(
        joinedload(Contact.company), selectinload(Contact.leads)))
    if contact is None:
        abort(404)
    return contact


@bp.get("/contacts/<contact_id>")
@require(SALES)
def contact(contact_id: str):
    contact = _contact_or_404(contact_id)
    leads = sorted(contact.leads, key=lambda lead: lead.created_at, reverse=True)
    return render("crm/records/contact.html", context=dict(contact=contact, leads=leads, labels=STAGE_LABELS))


@bp.route("/contacts/<contact_id>/merge", methods=["GET", "POST"])
@require(SALES)
def merge_contact(contact_id: str):
    """Merge another contact into this one (this one survives)."""
    contact = _contact_or_404(contact_id)
    other = db.session.get(Contact, uuid_or_404(request.values["with"])) if request.values.get("with") else None
    if request.method == "POST":
        if not can(current_user, MERGE_RECORDS):
            abort(403)
        return merge_posted(records.merge_contacts, contact, other, contact.display_name,
                            again=url_for("crm.merge_contact", contact_id=contact.id),
                            done=url_for("crm.contact", contact_id=contact.id))
    return render("crm/records/merge.html", context=dict(kind="contact", record=contact, other=other, candidates=[] if other else records.contact_merge_candidates(contact), may_merge=can(current_user, MERGE_RECORDS), refused=records.MERGE_REFUSED["contact"]))


@bp.post("/contacts/<contact_id>/merge/request")
@require(SALES)
def request_contact_merge(contact_id: str):
    contact = _contact_or_404(contact_id)
    other = db.session.get(Contact, uuid_or_404(request.form["with"])) if request.form.get("with") else None
    return merge_requested(contact, other, done=url_for("crm.contact", contact_id=contact.id),
                           link=url_for("crm.merge_contact", contact_id=contact.id, **({"with": other.id} if other else {})))
