"""Invoices (list, builder, void and reissue) and the billing reference data settings."""
import uuid
from datetime import UTC, datetime

from flask import (
    abort,
    flash,
    get_template_attribute,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.auth.permissions import BILLING_ADMIN, INVOICES, SETTINGS, can, require
from app.billing import bp, reference
from app.billing import invoices as svc
from app.billing.forms import (
    REFERENCE_FORMS,
    STATUS_CHOICES,
    EditLineForm,
    LineForm,
    NewInvoiceForm,
    TermsForm,
    VoidForm,
)
from app.billing.models import (
    AgreementTemplate,
    Backend,
    Carrier,
    ContractTerm,
    Invoice,
    InvoiceLineItem,
    InvoiceStatus,
    PaymentTerm,
    Product,
    ShippingType,
    TaxRate,
)
from app.billing.requests import REASONS
from app.billing.totals import products_by_code
from app.billing.unapplied import format_minor, list_unapplied
from app.crm.models import Company, CompanyAddress, Lead
from app.errors import get_or_404, uuid_or_404
from app.extensions import db
from app.htmx import add_trigger, is_htmx, render, toast
from app.template_helpers import kept_render


def _invoice_for_change(invoice_id) -> Invoice:
    """The invoice, row-locked for the rest of the request: concurrent edits (and
    payments) of one invoice queue, so totals are computed from the current lines."""
    return get_or_404(Invoice, invoice_id, lock=True)


# ------------------------------------------------------------------ the list

def invoice_rows(rows, today) -> list:
    """The invoices list's rows as HTML, each kept by every value it shows (kept_render)."""
    macro = get_template_attribute("billing/_invoice_row.html", "invoice_row")
    invoice_url = url_for("billing.invoice", invoice_id="__ID__")
    return [kept_render(macro, invoice_url, str(r.id), r.invoice_number, r.company_name, r.status,
                        svc.is_overdue(r, today), r.created_at.date(), r.due_date, r.total, r.balance_due)
            for r in rows]


@bp.get("/invoices")
@require(INVOICES)
def invoices():
    args = request.args
    status = args.get("status") or ""
    status_enum = InvoiceStatus(status) if status in InvoiceStatus.__members__ else None
    sort = args.get("sort") if args.get("sort") in svc.SORTS else "date"
    descending = args.get("dir", "desc") != "asc"
    overdue = args.get("overdue") == "1"
    company = None
    if args.get("company_id"):
        company = db.session.get(Company, uuid_or_404(args["company_id"]))
    page = svc.list_invoice_rows(status=status_enum, overdue=overdue, company_id=company.id if company else None,
                                 sort=sort, descending=descending, cursor=args.get("cursor"))
    filters = {"status": status, "overdue": "1" if overdue else "", "sort": sort,
               "dir": "desc" if descending else "asc", "company_id": str(company.id) if company else ""}
    rows = invoice_rows(page.items, datetime.now(UTC).date())
    return render("billing/invoices.html", "invoice_list", context=dict(page=page, rows=rows, filters=filters, company=company,
                  status_choices=STATUS_CHOICES, first_page=not args.get("cursor")))


# ------------------------------------------------------------------ create

@bp.get("/invoices/new")
@require(INVOICES)
def new_invoice():
    company_id = request.args.get("company_id")
    if not company_id and request.args.get("lead_id"):
        lead = get_or_404(Lead, request.args["lead_id"])
        company_id = lead.company_id
    if not company_id:
        from app.crm.search.services import search

        q = (request.args.get("q") or "").strip()
        companies = search(q).companies if len(q) >= 2 else []
        return render("billing/new_invoice.html", "company_results", context=dict(company=None, q=q, companies=companies))
    company = get_or_404(Company, company_id)
    form = NewInvoiceForm(company_id=str(company.id), lead_id=request.args.get("lead_id") or "")
    _lead_choices(form, company)
    return render("billing/new_invoice.html", context=dict(company=company, form=form))


def _lead_choices(form: NewInvoiceForm, company: Company) -> None:
    form.lead_id.choices = [("", "No lead")] + [
        (str(lead.id), f"{lead.contact.display_name} · {lead.stage.value.replace('_', ' ').title()}")
        for lead in company.leads]


@bp.post("/invoices/new")
@require(INVOICES)
def create_invoice():
    form = NewInvoiceForm()
    company = db.session.get(Company, uuid_or_404(form.company_id.data)) if form.company_id.data else None
    if company is None:
        abort(404)
    _lead_choices(form, company)
    if not form.validate_on_submit():
        return render("billing/new_invoice.html", context=dict(company=company, form=form), status=422)
    lead = db.session.get(Lead, uuid.UUID(form.lead_id.data)) if form.lead_id.data else None
    try:
        invoice = svc.create_invoice(company, actor=current_user, lead=lead)
    except svc.InvoiceError as exc:
        form.lead_id.errors.append(str(exc))
        return render("billing/new_invoice.html", context=dict(company=company, form=form), status=422)
    db.session.commit()
    return redirect(url_for("billing.invoice", invoice_id=invoice.id), code=303)


# ------------------------------------------------------------------ the invoice page

def _terms_form(invoice: Invoice, *, from_request: bool = False) -> TermsForm:
    form = TermsForm() if from_request else TermsForm(formdata=None, data={
        "bill_to_id": str(invoice.bill_to_address_id or ""), "ship_to_id": str(invoice.ship_to_address_id or ""),
        "tax_rate_id": str(invoice.tax_rate_id or ""), "shipping_type_id": str(invoice.shipping_type_id or ""),
        "shipping_cost": invoice.shipping_cost, "payment_term_id": str(invoice.payment_term_id or ""),
        "due_date": invoice.due_date, "contract_term_id": str(invoice.contract_term_id or ""),
        "backend_id": str(invoice.backend_id or ""), "carrier_id": str(invoice.carrier_id or ""),
        "agreement_template_id": str(invoice.agreement_template_id or ""), "notes": invoice.notes,
    })
    addresses = [(str(a.id), f"{a.label} — {', '.join(a.lines)}") for a in invoice.company.addresses]
    form.bill_to_id.choices = [("", "None")] + addresses
    form.ship_to_id.choices = [("", "None")] + addresses

    def pick(model, current, label=lambda o: o.name):
        return [("", "None")] + [(str(o.id), label(o) + ("" if o.active else " (inactive)"))
                                 for o in reference.choices(model, current)]

    form.tax_rate_id.choices = pick(TaxRate, invoice.tax_rate, lambda t: f"{t.name} — {t.rate * 100:.3f}%")
    form.shipping_type_id.choices = pick(ShippingType, invoice.shipping_type)
    form.payment_term_id.choices = pick(PaymentTerm, invoice.payment_term)
    form.contract_term_id.choices = pick(ContractTerm, invoice.contract_term)
    form.backend_id.choices = pick(Backend, invoice.backend)
    form.carrier_id.choices = pick(Carrier, invoice.carrier)
    form.agreement_template_id.choices = pick(AgreementTemplate, invoice.agreement_template)
    return form


def _add_form(*, product: Product | None = None, from_request: bool = False) -> LineForm:
    if from_request:
        form = LineForm()
    else:
        quantity = request.args.get("quantity", type=int)
        form = LineForm(formdata=None, data={
            "product_id": str(product.id) if product else "",
            "quantity": quantity if quantity and 0 < quantity <= svc.MAX_QUANTITY else 1,
            "description": product.name if product else "",
            "unit_price": product.unit_price if product else None})
    form.product_id.choices = [("", "Custom line (type it)")] + [
        (str(p.id), f"{p.name} — ${p.unit_price:,.2f}") for p in reference.choices(Product)
        if not svc.is_shipping_product(p)]  # shipping comes from the terms' shipping method
    return form


def _page_context(invoice: Invoice, **overrides) -> dict:
    ctx = {
        "invoice": invoice,
        "lock_reason": svc.lock_reason(invoice),
        "can_void": svc.can_void(invoice),
        "overdue": svc.is_overdue(invoice),
        "terms_form": _terms_form(invoice),
        "add_form": _add_form(),
        "line_forms": {},
        "void_form": VoidForm(formdata=None),
        "taxable_note": _taxable_note(invoice),
        "may_void": can(current_user, BILLING_ADMIN),
        "held_money": [h for h in list_unapplied(invoice_id=invoice.id) if h.remaining_minor > 0],
        "format_minor": format_minor,
        "line_products": products_by_code({ln.product_code for ln in invoice.line_items if ln.product_code}),
        "reasons": REASONS,
        "qbo_sync": _qbo_sync(invoice),
        "qbo_payments": _qbo_payments(invoice),
    }
    ctx.update(overrides)
    return ctx


def _qbo_sync(invoice: Invoice) -> dict | None:
    from app.quickbooks.models import LedgerEntity
    from app.quickbooks.queries import sync_badge

    return sync_badge(LedgerEntity.INVOICE, invoice.id)


def _qbo_payments(invoice: Invoice) -> dict:
    from app.quickbooks.queries import payment_badges

    return payment_badges([p.id for p in invoice.payments])


def _taxable_note(invoice: Invoice) -> str | None:
    if not invoice.company.taxable:
        return "The company is not taxable: no tax is charged."
    if invoice.tax_rate is None:
        return "No tax rate chosen."
    return None


@bp.get("/invoices/<invoice_id>")
@require(INVOICES)
def invoice(invoice_id):
    inv = get_or_404(Invoice, invoice_id)
    return render("billing/invoice.html", context=_page_context(inv))


def _changed(invoice: Invoice, status: int = 200, **parts):
    """The answer to an edit: hx-partials for the parts that changed, always the totals."""
    body = render_template("billing/_invoice_changed.html", **_page_context(invoice, **parts))
    return make_response(body, status)


def _locked(invoice: Invoice, exc: svc.InvoiceError):
    if not is_htmx():
        return redirect(url_for("billing.invoice", invoice_id=invoice.id), code=303)
    response = make_response("", 409)
    response.headers["HX-Refresh"] = "true"  # show the locked page
    return toast(response, str(exc), "error")


@bp.get("/invoices/<invoice_id>/lines/new")
@require(INVOICES)
def new_line_form(invoice_id):
    """The add-line form prefilled from the chosen product (description, price)."""
    inv = get_or_404(Invoice, invoice_id)
    product_id = request.args.get("product_id")
    product = db.session.get(Product, uuid_or_404(product_id)) if product_id else None
    return render("billing/invoice.html", "add_line", context=_page_context(inv, add_form=_add_form(product=product)))


@bp.post("/invoices/<invoice_id>/lines")
@require(INVOICES)
def add_line(invoice_id):
    inv = _invoice_for_change(invoice_id)
    form = _add_form(from_request=True)
    if not form.validate_on_submit():
        return _changed(inv, 422, add_form=form, show_add_form=True)
    product = db.session.get(Product, uuid.UUID(form.product_id.data)) if form.product_id.data else None
    try:
        with db.session.begin_nested():  # a refused change leaves nothing behind
            line = svc.add_line(inv, actor=current_user, product=product, description=form.description.data,
                                quantity=form.quantity.data, unit_price=form.unit_price.data)
    except svc.InvoiceLocked as exc:
        return _locked(inv, exc)
    except svc.InvoiceError as exc:
        _field_error(form, exc)
        return _changed(inv, 422, add_form=form, show_add_form=True)
    return _saved(inv, new_line=line, show_add_form=True)


def _saved(inv: Invoice, **ctx):
    """Commit an invoice change; answer the page (plain post) or its changed parts (htmx)."""
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("billing.invoice", invoice_id=inv.id), code=303)
    return _changed(inv, **ctx)


def _field_error(form, exc: svc.InvoiceError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    if target is None:
        target = form.description if hasattr(form, "description") else None
    if target is not None:
        target.errors = [*target.errors, str(exc)] if isinstance(target.errors, list) else [str(exc)]


def _line_or_404(inv: Invoice, line_id) -> InvoiceLineItem:
    line = db.session.get(InvoiceLineItem, uuid_or_404(line_id))
    if line is None or line.invoice_id != inv.id:
        abort(404)
    return line


@bp.post("/invoices/<invoice_id>/lines/<line_id>")
@require(INVOICES)
def update_line(invoice_id, line_id):
    inv = _invoice_for_change(invoice_id)
    line = _line_or_404(inv, line_id)
    form = EditLineForm()
    if not form.validate_on_submit():
        return _changed(inv, 422, line=line, line_forms={line.id: form})
    try:
        with db.session.begin_nested():
            svc.update_line(inv, line, actor=current_user, description=form.description.data,
                            quantity=form.quantity.data, unit_price=form.unit_price.data)
    except svc.InvoiceLocked as exc:
        return _locked(inv, exc)
    except svc.InvoiceError as exc:
        _field_error(form, exc)
        return _changed(inv, 422, line=line, line_forms={line.id: form})
    return _saved(inv, line_total_of=line)


@bp.post("/invoices/<invoice_id>/lines/<line_id>/delete")
@require(INVOICES)
def remove_line(invoice_id, line_id):
    inv = _invoice_for_change(invoice_id)
    line = _line_or_404(inv, line_id)
    try:
        svc.remove_line(inv, line, actor=current_user)
    except svc.InvoiceLocked as exc:
        return _locked(inv, exc)
    return _saved(inv, removed_line_id=line_id)


def _ref(model, raw):
    return db.session.get(model, uuid.UUID(raw)) if raw else None


@bp.post("/invoices/<invoice_id>/terms")
@require(INVOICES)
def update_terms(invoice_id):
    inv = _invoice_for_change(invoice_id)
    form = _terms_form(inv, from_request=True)
    if not form.validate_on_submit():
        return _changed(inv, 422, terms_form=form, show_terms=True)
    try:
        with db.session.begin_nested():
            svc.update_invoice_terms(
                inv, actor=current_user,
                tax_rate=_ref(TaxRate, form.tax_rate_id.data),
                shipping_type=_ref(ShippingType, form.shipping_type_id.data),
                shipping_cost=form.shipping_cost.data,
                payment_term=_ref(PaymentTerm, form.payment_term_id.data),
                contract_term=_ref(ContractTerm, form.contract_term_id.data),
                backend=_ref(Backend, form.backend_id.data), carrier=_ref(Carrier, form.carrier_id.data),
                agreement_template=_ref(AgreementTemplate, form.agreement_template_id.data),
                bill_to=_ref(CompanyAddress, form.bill_to_id.data), ship_to=_ref(CompanyAddress, form.ship_to_id.data),
                notes=form.notes.data, due_date=form.due_date.data)
    except svc.InvoiceLocked as exc:
        return _locked(inv, exc)
    except svc.InvoiceError as exc:
        _field_error(form, exc)
        return _changed(inv, 422, terms_form=form, show_terms=True)
    return _saved(inv, show_terms=True)


@bp.post("/invoices/<invoice_id>/void")
@require(BILLING_ADMIN)
def void_invoice(invoice_id):
    inv = _invoice_for_change(invoice_id)
    form = VoidForm()
    if not form.validate_on_submit():
        return render("billing/invoice.html", context=_page_context(inv, void_form=form, void_open=True), status=422)
    try:
        svc.void_invoice(inv, actor=current_user, reason=form.reason.data)
    except svc.InvoiceError as exc:
        form.reason.errors = [str(exc)]
        return render("billing/invoice.html", context=_page_context(inv, void_form=form, void_open=True), status=409)
    db.session.commit()
    return _to_invoice(inv, f"Invoice {inv.invoice_number} is void.")


@bp.post("/invoices/<invoice_id>/reissue")
@require(INVOICES)
def reissue_invoice(invoice_id):
    inv = _invoice_for_change(invoice_id)
    if inv.status is not InvoiceStatus.VOID and not can(current_user, BILLING_ADMIN):
        abort(403)  # reissuing a live invoice voids it first
    form = VoidForm()
    reason = (form.reason.data or "").strip() or "Reissued"
    if not form.validate_on_submit() and form.errors.keys() - {"reason"}:
        abort(400)
    try:
        copy = svc.reissue_invoice(inv, actor=current_user, reason=reason)
    except svc.InvoiceError as exc:
        form.reason.errors = [str(exc)]
        return render("billing/invoice.html", context=_page_context(inv, void_form=form, void_open=True), status=409)
    db.session.commit()
    return _to_invoice(copy, f"Reissued as {copy.invoice_number}.")


def _to_invoice(inv: Invoice, message: str):
    flash(message, "success")
    url = url_for("billing.invoice", invoice_id=inv.id)
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


# ------------------------------------------------------------------ reference data settings

def _kind_or_404(kind: str) -> reference.Kind:
    found = reference.KINDS.get(kind)
    if found is None:
        abort(404)
    return found


@bp.get("/settings/billing")
@require(SETTINGS)
def reference_index():
    counts = {k.key: len(reference.list_entries(k)) for k in reference.KINDS.values()}
    return render("billing/reference_index.html", context=dict(kinds=reference.KINDS.values(), counts=counts))


def _reference_form(kind: reference.Kind, obj=None):
    form_class = REFERENCE_FORMS[kind.key]
    if request.method == "POST":
        return form_class()
    if obj is None:
        return form_class(formdata=None)
    data = {f: getattr(obj, f) for f in kind.fields}
    for key in ("type", "category"):
        if key in data and hasattr(data[key], "value"):
            data[key] = data[key].value
    if "variables" in data:
        data["variables"] = ", ".join(reference.variables_list(data["variables"]))
    return form_class(formdata=None, data=data)


def _reference_page(kind, form, *, editing=None, status=200):
    return render("billing/reference.html", "reference_body", context=dict(kind=kind, kinds=reference.KINDS.values(),
                  entries=reference.list_entries(kind), form=form, editing=editing,
                  term_days=svc.payment_term_days, variables_list=reference.variables_list), status=status)


def _form_data(kind, form) -> dict:
    return {f: getattr(form, f).data for f in kind.fields if hasattr(form, f)}


@bp.get("/settings/billing/<kind>")
@require(SETTINGS)
def reference_list(kind):
    kind = _kind_or_404(kind)
    return _reference_page(kind, _reference_form(kind))


@bp.post("/settings/billing/<kind>")
@require(SETTINGS)
def reference_create(kind):
    kind = _kind_or_404(kind)
    form = _reference_form(kind)
    if not form.validate_on_submit():
        return _reference_page(kind, form, status=422)
    try:
        obj = reference.save_reference(kind, None, _form_data(kind, form), actor=current_user)
    except reference.ReferenceDataError as exc:
        _field_error(form, exc)
        db.session.rollback()
        return _reference_page(kind, form, status=422)
    db.session.commit()
    response = _reference_page(kind, REFERENCE_FORMS[kind.key](formdata=None))
    return toast(response, f"Added {obj.name}.")


@bp.get("/settings/billing/<kind>/<entry_id>")
@require(SETTINGS)
def reference_edit(kind, entry_id):
    kind = _kind_or_404(kind)
    obj = get_or_404(kind.model, entry_id)
    return _reference_page(kind, _reference_form(kind, obj), editing=obj)


@bp.post("/settings/billing/<kind>/<entry_id>")
@require(SETTINGS)
def reference_update(kind, entry_id):
    kind = _kind_or_404(kind)
    obj = get_or_404(kind.model, entry_id, lock=True)
    form = _reference_form(kind, obj)
    if not form.validate_on_submit():
        return _reference_page(kind, form, editing=obj, status=422)
    try:
        reference.save_reference(kind, obj, _form_data(kind, form), actor=current_user)
    except reference.ReferenceDataError as exc:
        _field_error(form, exc)
        db.session.rollback()
        obj = get_or_404(kind.model, entry_id)
        return _reference_page(kind, form, editing=obj, status=422)
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("billing.reference_list", kind=kind.key), code=303)
    response = _reference_page(kind, REFERENCE_FORMS[kind.key](formdata=None))
    response.headers["HX-Push-Url"] = url_for("billing.reference_list", kind=kind.key)
    return toast(response, f"Saved {obj.name}.")


@bp.post("/settings/billing/<kind>/<entry_id>/active")
@require(SETTINGS)
def reference_active(kind, entry_id):
    kind = _kind_or_404(kind)
    obj = get_or_404(kind.model, entry_id, lock=True)
    active = request.form.get("active") == "1"
    reference.set_active(kind, obj, active, actor=current_user)
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("billing.reference_list", kind=kind.key), code=303)
    response = _reference_page(kind, REFERENCE_FORMS[kind.key](formdata=None))
    return add_trigger(response, {"toast": {"message": f"{'Reactivated' if active else 'Deactivated'} {obj.name}.",
                                            "level": "success"}})

