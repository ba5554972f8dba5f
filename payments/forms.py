"""Forms of the payment pages and of the payments admin."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from orders.models import OrderLine
from payments.models import Provider
from payments.providers import PROVIDERS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def provider_choices() -> list[tuple[str, StrOrPromise]]:
    """The providers this shop offers: those whose keys are set."""
    return [(value, label) for value, label in Provider.choices if PROVIDERS[value].is_configured()]


class PaymentStartForm(forms.Form):
    """The order page's "Pay" form. Its one-time key makes a double submit start one payment."""

    provider = forms.ChoiceField(label=_("Pay with"), widget=forms.RadioSelect)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["provider"]).choices = provider_choices()
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

    def __init__(
        self, *args: Any, refundable: Decimal, lines: QuerySet[OrderLine], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.refundable = refundable
        cast(_LineChoiceField, self.fields["lines"]).queryset = lines

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if self.errors:
            return cleaned
        # Both fields are valid, so both are there (an empty choice of lines is none()).
        amount: Decimal | None = cleaned["amount"]
        lines: QuerySet[OrderLine] = cleaned["lines"]
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
