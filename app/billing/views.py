from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.auth.permissions import INVOICES, require
from app.billing import bp
from app.billing.models import Invoice
from app.extensions import db
from app.htmx import render


@bp.get("/invoices")
@require(INVOICES)
def invoices():
    rows = db.session.scalars(
        select(Invoice).options(joinedload(Invoice.company))
        .order_by(Invoice.created_at.desc()).limit(100)
    ).all()
    return render("billing/invoices.html", invoices=rows)
