"""Forms of the fulfilment pages: the admin's ship, cancel-lines and return pages, and the
shopper's "Return items" form on the order page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fulfilment.models import Carrier, Return, ReturnLine
from orders.models import OrderLine


def _line_label(line: OrderLine) -> str:
    return f"{line.product_name} ({line.variant_name}), {line.sku}"


class _LineQuantitiesForm(forms.Form):
    """A whole-number field per order line (`line_<id>`), from 0 up to `limits[id]`."""

    default_all = True  # start every line at its limit (ship all) or at 0

    def __init__(
        self, *args: Any, lines: Iterable[OrderLine], limits: dict[int, int], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=_line_label(line),
                min_value=0,
                max_value=limits[line.pk],
                initial=limits[line.pk] if self.default_all else 0,
                required=False,
                help_text=_("At most %(n)d.") % {"n": limits[line.pk]},
            )

    def quantities(self) -> dict[int, int]:
        return {
            line.pk: self.cleaned_data[f"line_{line.pk}"]
            for line in self.lines
            if self.cleaned_data.get(f"line_{line.pk}")
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and not self.quantities():
            raise forms.ValidationError(_("Give a quantity for at least one line."))
        return cleaned


class ShipForm(_LineQuantitiesForm):
    carrier = forms.ModelChoiceField(
        label=_("Carrier"), queryset=Carrier.objects.filter(is_active=True), to_field_name="slug"
    )
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)
    field_order = ["carrier", "tracking_number"]


class CancelLinesForm(_LineQuantitiesForm):
    default_all = False
    reason = forms.CharField(label=_("Why"), max_length=255, required=False)


class ReturnDecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note to the shopper"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Approving: how to send the goods back. Rejecting: why (required)."),
    )


class ReturnReceiveForm(forms.Form):
    """Each line of the return: back on the shelf, or damaged."""

    def __init__(self, *args: Any, lines: Iterable[ReturnLine], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for row in self.lines:
            self.fields[f"restock_{row.order_line_id}"] = forms.BooleanField(
                label=f"{row.quantity} x {_line_label(row.order_line)}",
                required=False,
                initial=True,
                help_text=_("Leave unticked if the goods are damaged and cannot be sold again."),
            )

    def restock(self) -> dict[int, bool]:
        return {
            row.order_line_id: bool(self.cleaned_data.get(f"restock_{row.order_line_id}"))
            for row in self.lines
        }


class ReturnRequestForm(forms.Form):
    """The shopper's "Return items" form: a quantity per returnable line, a reason."""

    reason = forms.ChoiceField(label=_("Reason"), choices=Return.Reason.choices)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, lines: Iterable[tuple[OrderLine, int]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line, limit in self.lines:
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=_line_label(line),
                min_value=0,
                max_value=limit,
                initial=0,
                required=False,
                help_text=_("Up to %(n)d.") % {"n": limit},
            )
        self.order_fields(
            [*(f"line_{line.pk}" for line, _limit in self.lines), "reason", "comment"]
        )

    def quantities(self) -> dict[int, int]:
        return {
            line.pk: self.cleaned_data[f"line_{line.pk}"]
            for line, _limit in self.lines
            if self.cleaned_data.get(f"line_{line.pk}")
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and not self.quantities():
            raise forms.ValidationError(_("Choose how many of which items to return."))
        return cleaned
