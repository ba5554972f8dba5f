"""Forms of the payment pages and of the payments admin."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import OrderLine
from payments.models import Provider
from payments.providers import PROVIDERS


def provider_choices() -> list[tuple[str, str]]:
    """The providers this shop offers: those whose keys are set."""
    return [(value, label) for value, label in Provider.choices if PROVIDERS[value].is_configured()]


class PaymentStartForm(forms.Form):
    """The order page's "Pay" form. Its one-time key makes a double submit start one payment."""

    provider = forms.ChoiceField(label=_("Pay with"), widget=forms.RadioSelect)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = provider_choices()
        self.fields["provider"].initial = Provider.SANDBOX


class _LineChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, line: OrderLine) -> str:
        return (
            f"{line.product_name} ({line.variant_name}) x {line.quantity}: "
            f"{line.line_total_amount} {line.currency}"
        )


class RefundForm(forms.Form):
    """Staff refund of part of an order: an amount, or the sum of chosen lines' totals."""

    amount = forms.DecimalField(
        label=_("Amount"),
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=_("Leave empty to refund the chosen lines instead."),
    )
    lines = _LineChoiceField(
        label=_("Lines"),
        queryset=OrderLine.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, refundable: Decimal, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.refundable = refundable
        self.fields["lines"].queryset = lines

    def clean(self):
        cleaned = super().clean()
        amount, lines = cleaned.get("amount"), cleaned.get("lines")
        if self.errors:
            return cleaned
        if (amount is None) == (not lines):
            raise forms.ValidationError(_("Give either an amount or the lines to refund."))
        if amount is None:
            amount = sum((line.line_total_amount for line in lines), Decimal("0.00"))
        if amount > self.refundable:
            raise forms.ValidationError(
                _("At most %(amount)s can be refunded on this payment.")
                % {"amount": self.refundable}
            )
        cleaned["refund_amount"] = amount
        return cleaned
