"""Checkout forms: step 1 picks the address, step 2 the shipping method and places the order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Address
from orders.services import ShippingAddress
from shipping.models import ShippingMethod
from shop.core.countries import COUNTRY_CODES

NEW_ADDRESS = "new"
_REQUIRED_FOR_NEW = ("full_name", "line1", "city", "postal_code", "country")


class CheckoutAddressForm(forms.Form):
    """A saved address, or a new one (optionally saved to the address book)."""

    address = forms.ChoiceField(label=_("Ship to"), widget=forms.RadioSelect)
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    line1 = forms.CharField(
        label=_("Address line 1"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    line2 = forms.CharField(
        label=_("Address line 2"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    city = forms.CharField(
        label=_("City"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    postal_code = forms.CharField(
        label=_("Postal code"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    country = forms.ChoiceField(
        label=_("Country"),
        required=False,
        choices=[("", "---------"), *((code, code) for code in sorted(COUNTRY_CODES))],
        help_text=_("ISO code, such as US or DE."),
        widget=forms.Select(attrs={"autocomplete": "country"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel"}),
    )
    save_address = forms.BooleanField(
        label=_("Save this address to my address book"), required=False
    )

    def __init__(self, *args: Any, addresses: Sequence[Address] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.addresses = {str(address.pk): address for address in addresses}
        cast(forms.ChoiceField, self.fields["address"]).choices = [
            *((pk, str(address)) for pk, address in self.addresses.items()),
            (NEW_ADDRESS, _("A new address")),
        ]
        if "address" not in self.initial:
            self.initial["address"] = next(iter(self.addresses), NEW_ADDRESS)

    @property
    def is_new_address(self) -> bool:
        return self.cleaned_data.get("address") == NEW_ADDRESS

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("address") == NEW_ADDRESS:
            for name in _REQUIRED_FOR_NEW:
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, self.fields[name].error_messages["required"])
        return cleaned

    def shipping_address(self) -> ShippingAddress:
        data = self.cleaned_data
        if self.is_new_address:
            return ShippingAddress(
                full_name=data["full_name"],
                line1=data["line1"],
                line2=data["line2"],
                city=data["city"],
                postal_code=data["postal_code"],
                country=data["country"],
                phone=data["phone"],
            )
        return ShippingAddress.from_address(self.addresses[data["address"]])

    def add_service_errors(self, exc: ValidationError) -> None:
        """Field errors from a service land on the matching field, others on the form."""
        for field, messages in exc.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


class ShippingMethodChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ShippingMethod) -> str:
        return _("%(name)s: %(currency)s %(price)s, about %(days)s days") % {
            "name": obj.name,
            "currency": obj.currency,
            "price": obj.price_amount,
            "days": obj.estimated_days,
        }


class CheckoutPlaceForm(forms.Form):
    """Step 2. `idempotency_key` is minted when the form is first shown, so submitting the
    same page twice places one order."""

    shipping_method = ShippingMethodChoiceField(
        label=_("Shipping method"),
        queryset=ShippingMethod.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={
            "invalid_choice": _("This shipping method does not ship to your address's country.")
        },
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, methods: QuerySet[ShippingMethod] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if methods is not None:
            cast(forms.ModelChoiceField, self.fields["shipping_method"]).queryset = methods
