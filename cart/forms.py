"""Forms of the cart pages. They only parse input into whole numbers: the quantity
range, availability and stock rules live once, in cart.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

_WHOLE_NUMBER = {"invalid": _("Enter a whole number.")}


class CartAddForm(forms.Form):
    variant = forms.IntegerField(
        label=_("Option"),
        error_messages={"required": _("Choose an option."), "invalid": _("Choose an option.")},
    )
    quantity = forms.IntegerField(label=_("Quantity"), required=False, error_messages=_WHOLE_NUMBER)

    def clean_quantity(self) -> int:
        quantity = self.cleaned_data.get("quantity")
        return 1 if quantity is None else quantity


class CartLineUpdateForm(forms.Form):
    quantity = forms.IntegerField(
        label=_("Quantity"),
        error_messages={**_WHOLE_NUMBER, "required": _("Enter a quantity.")},
    )
