"""Shipping methods in the admin: for superusers and staff given the shipping permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from shipping.models import ShippingMethod
from shop.core.countries import normalize_country, validate_country

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ShippingMethodAdminForm(forms.ModelForm):
    class Meta:
        model = ShippingMethod
        fields = [
            "name",
            "price_amount",
            "countries",
            "estimated_days",
            "is_active",
            "position",
        ]

    def clean_countries(self) -> list[str]:
        """`de, fr` -> `["DE", "FR"]`; every entry must be an ISO alpha-2 code."""
        countries = []
        errors = []
        for value in self.cleaned_data.get("countries") or []:
            code = normalize_country(value)
            try:
                validate_country(code)
            except ValidationError as exc:
                errors.extend(exc.messages)
            else:
                if code not in countries:
                    countries.append(code)
        if errors:
            raise ValidationError(errors)
        return countries


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    form = ShippingMethodAdminForm
    list_display = [
        "name",
        "price_amount",
        "currency",
        "ship_to",
        "estimated_days",
        "is_active",
        "position",
    ]
    list_editable = ["is_active", "position"]
    list_filter = ["is_active"]
    search_fields = ["name"]

    @admin.display(description=_("ships to"))
    def ship_to(self, obj: ShippingMethod) -> StrOrPromise:
        return ", ".join(obj.countries) if obj.countries else _("every country")
