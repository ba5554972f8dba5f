from __future__ import annotations

from decimal import Decimal
from typing import Self

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shop.core.models import BaseModel


def _default_currency() -> str:
    return settings.SHOP_CURRENCY


class ShippingMethodQuerySet(models.QuerySet["ShippingMethod"]):
    def active(self) -> Self:
        return self.filter(is_active=True)

    def for_country(self, country: str) -> Self:
        """Methods that ship to an ISO 3166-1 alpha-2 country; no countries means everywhere."""
        return self.filter(Q(countries=[]) | Q(countries__contains=[country.upper()]))


class ShippingMethod(BaseModel):
    name = models.CharField(_("name"), max_length=120)
    price_amount = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    # The shop currency, never chosen per method: held to core.Shop's by a foreign key
    # (shipping 0002). The price may be 0: free shipping is a legitimate offer.
    currency = models.CharField(
        _("currency"), max_length=3, default=_default_currency, editable=False
    )
    countries = ArrayField(
        models.CharField(max_length=2),
        blank=True,
        default=list,
        verbose_name=_("countries"),
        help_text=_("ISO 3166-1 alpha-2 codes it ships to; leave empty for every country."),
    )
    estimated_days = models.PositiveSmallIntegerField(_("estimated days"), default=5)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = ShippingMethodQuerySet.as_manager()

    class Meta:
        verbose_name = _("shipping method")
        verbose_name_plural = _("shipping methods")
        ordering = ["position", "price_amount", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_amount__gte=Decimal("0")),
                name="shipping_shippingmethod_price_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def ships_to(self, country: str) -> bool:
        return not self.countries or country.upper() in self.countries
