"""Invoice arithmetic: rounding once per amount, exact sums, idempotent recomputation."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from app.billing.totals import LineAmount, compute_totals, line_total, round_money

CENT = Decimal("0.01")


def test_round_money_is_half_up():
    assert round_money(Decimal("0.005")) == Decimal("0.01")
    assert round_money(Decimal("0.0049")) == Decimal("0.00")
    assert round_money(Decimal("2.675")) == Decimal("2.68")  # float would say 2.67
    assert round_money(Decimal("-0.005")) == Decimal("-0.01")


def test_line_total_rounds_the_product_once():
    assert line_total(3, Decimal("0.335")) == Decimal("1.01")  # 1.005 -> 1.01
    assert line_total(7, Decimal("24.95")) == Decimal("174.65")


def test_tax_is_rounded_once_on_the_taxable_subtotal_not_per_line():
    lines = [LineAmount(1, Decimal("0.10"))] * 3
    # per line: 0.10 * 0.05 = 0.005 -> 0.01 each = 0.03; once on 0.30: 0.015 -> 0.02
    totals = compute_totals(lines, tax_rate=Decimal("0.05000"), shipping_cost=None)
    assert totals.tax_amount == Decimal("0.02")


def test_a_worked_invoice():
    lines = [
        LineAmount(10, Decimal("79.00")),                  # trackers (taxable) 790.00
        LineAmount(10, Decimal("65.00"), taxable=False),   # installation (service) 650.00
        LineAmount(10, Decimal("14.95")),                  # cases (taxable) 149.50
    ]
    totals = compute_totals(lines, tax_rate=Decimal("0.09375"), shipping_cost=Decimal("18.00"))
    assert totals.line_totals == (Decimal("790.00"), Decimal("650.00"), Decimal("149.50"))
    assert totals.subtotal == Decimal("1589.50")
    assert totals.taxable_subtotal == Decimal("939.50")
    assert totals.tax_amount == Decimal("88.08")  # 88.078125
    assert totals.shipping_cost == Decimal("18.00")
    assert totals.total == Decimal("1695.58")


def test_no_rate_no_lines_no_shipping():
    totals = compute_totals([], tax_rate=None, shipping_cost=None)
    assert (totals.subtotal, totals.tax_amount, totals.shipping_cost, totals.total) == (0, 0, 0, 0)
    assert str(totals.total) == "0.00"


lines_strategy = st.lists(
    st.tuples(st.integers(1, 500),
              st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2),
              st.booleans()),
    min_size=0, max_size=25,
)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.15"), places=5)
shipping = st.one_of(st.none(), st.decimals(min_value=Decimal("0"), max_value=Decimal("999.99"), places=2))


@settings(max_examples=400, deadline=None)
@given(lines=lines_strategy, rate=rates, ship=shipping)
def test_totals_are_exact_and_rounded_once(lines, rate, ship):
    amounts = [LineAmount(q, p, t) for q, p, t in lines]
    totals = compute_totals(amounts, tax_rate=rate, shipping_cost=ship)
    for (q, p, _), got in zip(lines, totals.line_totals, strict=True):
        assert got == (Decimal(q) * p).quantize(CENT, rounding=ROUND_HALF_UP)
        assert got.as_tuple().exponent == -2
    assert totals.subtotal == sum(totals.line_totals, Decimal("0.00"))
    taxable = sum((t for t, (_, _, tx) in zip(totals.line_totals, lines, strict=True) if tx), Decimal("0.00"))
    assert totals.tax_amount == (taxable * rate).quantize(CENT, rounding=ROUND_HALF_UP)
    assert totals.total == totals.subtotal + totals.tax_amount + totals.shipping_cost
    assert totals.total.as_tuple().exponent == -2
    # No cent invented or lost across recomputations: feeding the result back changes nothing.
    again = compute_totals(amounts, tax_rate=rate, shipping_cost=totals.shipping_cost)
    assert again == totals


def _invoice(lines, *, rate, ship, taxable=True):
    return SimpleNamespace(
        line_items=[SimpleNamespace(quantity=q, unit_price=p, total=None, product_code=None) for q, p in lines],
        tax_rate=SimpleNamespace(rate=rate) if rate is not None else None,
        company=SimpleNamespace(taxable=taxable), shipping_cost=ship, subtotal=None, tax_amount=None,
        total=None, amount_paid=Decimal("0.00"), balance_due=None, payments=[], status=None, sent_at=None,
        paid_at=None, id=None)  # id None: apply_payments reads `payments`, no database


def _amounts(invoice):
    return (invoice.subtotal, invoice.tax_amount, invoice.shipping_cost, invoice.total,
            [ln.total for ln in invoice.line_items], invoice.amount_paid, invoice.balance_due)


@settings(max_examples=200, deadline=None)
@given(lines=lines_strategy, rate=rates, ship=shipping)
def test_recompute_invoice_is_idempotent(lines, rate, ship):
    """recompute_invoice on an in-memory invoice (no product codes: every line taxable);
    a second and third run change no amount."""
    from app.billing.totals import recompute_invoice

    invoice = _invoice([(q, p) for q, p, _ in lines], rate=rate, ship=ship)
    recompute_invoice(invoice)
    first = _amounts(invoice)
    recompute_invoice(invoice)
    recompute_invoice(invoice)
    assert _amounts(invoice) == first
    assert invoice.total == invoice.subtotal + invoice.tax_amount + (invoice.shipping_cost or 0)
    assert invoice.balance_due == invoice.total - invoice.amount_paid


def test_non_taxable_company_pays_no_tax():
    from app.billing.totals import recompute_invoice

    invoice = _invoice([(2, Decimal("79.00"))], rate=Decimal("0.09375"), ship=Decimal("18.00"), taxable=False)
    recompute_invoice(invoice)
    assert invoice.tax_amount == Decimal("0.00")
    assert invoice.total == Decimal("176.00")
