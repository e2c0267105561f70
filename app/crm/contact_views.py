"""The contact page (details, leads, activity) and merging two contacts."""
from flask import abort, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.auth.permissions import SALES, require
from app.crm import bp, records
from app.crm.models import Contact
from app.crm.pipeline import STAGE_LABELS
from app.crm.record_views import merge_posted
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
    return render("crm/contact.html", context=dict(contact=contact, leads=leads, labels=STAGE_LABELS))


@bp.route("/contacts/<contact_id>/merge", methods=["GET", "POST"])
@require(SALES)
def merge_contact(contact_id: str):
    """Merge another contact into this one (this one survives)."""
    contact = _contact_or_404(contact_id)
    other = db.session.get(Contact, uuid_or_404(request.values["with"])) if request.values.get("with") else None
    if request.method == "POST":
        return merge_posted(records.merge_contacts, contact, other, contact.display_name,
                            again=url_for("crm.merge_contact", contact_id=contact.id),
                            done=url_for("crm.contact", contact_id=contact.id))
    return render("crm/contact_merge.html", context=dict(contact=contact, other=other,
                  candidates=[] if other else records.contact_merge_candidates(contact)))
