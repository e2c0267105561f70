"""Forms of the invoice builder and of the billing reference data settings."""
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.billing.invoices import MAX_QUANTITY
from app.billing.models import InvoiceStatus, ProductType, TaxRateCategory
from app.forms import ExactDecimalField, MoneyField


class NewInvoiceForm(FlaskForm):
    company_id = HiddenField(validators=[DataRequired(message="Pick a company.")])
    lead_id = SelectField("Lead", choices=[], validate_choice=True)


class LineForm(FlaskForm):
    """One invoice line; `product_id` only when adding."""

    product_id = SelectField("Product", choices=[], validate_choice=True)
    description = StringField("Description", validators=[Optional(), Length(max=500)])
    quantity = IntegerField("Qty", default=1, validators=[
        InputRequired(message="Enter a quantity."),
        NumberRange(min=1, max=MAX_QUANTITY, message=f"From 1 to {MAX_QUANTITY:,}.")])
    unit_price = MoneyField("Unit price", validators=[Optional()])

    def validate_description(self, field):
        if not (field.data or "").strip() and not self.product_id.data:
            raise ValidationError("Describe the line or pick a product.")


class EditLineForm(FlaskForm):
    description = StringField("Description", validators=[DataRequired(message="Describe the line."),
                                                         Length(max=500)])
    quantity = IntegerField("Qty", validators=[
        InputRequired(message="Enter a quantity."),
        NumberRange(min=1, max=MAX_QUANTITY, message=f"From 1 to {MAX_QUANTITY:,}.")])
    unit_price = MoneyField("Unit price", required=True, required_message="Enter a price.")


class TermsForm(FlaskForm):
    bill_to_id = SelectField("Bill to", choices=[], validate_choice=True)
    ship_to_id = SelectField("Ship to", choices=[], validate_choice=True)
    tax_rate_id = SelectField("Tax rate", choices=[], validate_choice=True)
    shipping_type_id = SelectField("Shipping", choices=[], validate_choice=True)
    shipping_cost = MoneyField("Shipping cost", validators=[Optional()])
    payment_term_id = SelectField("Payment term", choices=[], validate_choice=True)
    due_date = DateField("Due date", validators=[Optional()])
    contract_term_id = SelectField("Contract term", choices=[], validate_choice=True)
    backend_id = SelectField("Backend", choices=[], validate_choice=True)
    carrier_id = SelectField("Carrier", choices=[], validate_choice=True)
    agreement_template_id = SelectField("Agreement", choices=[], validate_choice=True)
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=4000)])


class VoidForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(message="Say why the invoice is void."),
                                               Length(max=500)])


STATUS_CHOICES = [("", "Any status")] + [(s.value, s.value.title()) for s in InvoiceStatus]


# ------------------------------------------------------------------ reference data

class _Named(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Give it a name."), Length(max=200)])
    slug = StringField("Slug", validators=[Optional(), Length(max=80)])
    sort_order = IntegerField("Sort order", default=0, validators=[Optional(), NumberRange(min=0, max=100000)])


class NamedRefForm(_Named):
    pass


class PaymentTermForm(_Named):
    pass


class ShippingTypeForm(_Named):
    default_cost = MoneyField("Default cost", validators=[Optional()])


class ContractTermForm(_Named):
    months = IntegerField("Months", validators=[Optional(), NumberRange(min=1, max=120)])


class TaxRateForm(_Named):
    rate = ExactDecimalField("Rate", places=5, minimum=Decimal(0), maximum=Decimal("0.99999"), example="0.08250",
                             required=True, required_message="Enter the rate as a fraction, e.g. 0.08250.")
    category = SelectField("Category", choices=[(c.value, c.value.replace("_", " ").title())
                                                for c in TaxRateCategory])
    state = StringField("State", validators=[Optional(), Length(max=2)])
    jurisdiction = StringField("Jurisdiction", validators=[Optional(), Length(max=200)])


class ProductForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Give it a name."), Length(max=200)])
    sku = StringField("SKU", validators=[Optional(), Length(max=80)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    unit_price = MoneyField("Unit price", required=True, required_message="Enter a unit price.")
    cost = MoneyField("Cost", validators=[Optional()])
    type = SelectField("Type", choices=[(t.value, t.value.replace("_", " ").title()) for t in ProductType])
    category = StringField("Category", validators=[Optional(), Length(max=80)])


class AgreementTemplateForm(_Named):
    body = TextAreaField("Body", validators=[DataRequired(message="The agreement needs a body.")])
    variables = StringField("Variables", validators=[Optional(), Length(max=1000)])


REFERENCE_FORMS = {
    "products": ProductForm, "tax-rates": TaxRateForm, "backends": NamedRefForm, "carriers": NamedRefForm,
    "shipping-types": ShippingTypeForm, "payment-terms": PaymentTermForm, "contract-terms": ContractTermForm,
    "agreement-templates": AgreementTemplateForm,
}
