"""The one search an unmatched item (a booking, a conversation) is attached from: the contacts
the rep's `?q=` finds, each with "Attach", and a way to create the contact and lead instead."""
from __future__ import annotations

from flask import request

from app.crm.search.services import search
from app.htmx import render
from app.inbox.forms import AttachForm


def attach_candidates(*, attach_url: str, new_lead_url: str):
    q = (request.args.get("q") or "").strip()
    return render("inbox/_attach_candidates.html", context=dict(
        attach_url=attach_url, contacts=search(q).contacts if q else [], q=q, form=AttachForm(formdata=None),
        new_lead_url=new_lead_url))
