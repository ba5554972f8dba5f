from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shop.core.models import BaseModel


class Cart(BaseModel):
    """A logged-in shopper's cart; anonymous shoppers keep theirs in the session."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart"
    )

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")

    def __str__(self) -> str:
        return f"Cart of {self.user}"


class CartLine(BaseModel):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    # The variant's price when the shopper added it (set again when they add more: they saw
    # the price then), so the cart and checkout can say when it has changed since. Null
    # for lines older than this column.
    added_unit_price_amount = models.DecimalField(
        _("unit price when added"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "variant"], name="cart_cartline_unique_variant"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="cart_cartline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"
