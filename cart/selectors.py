"""Reads of carts, shaped as one `CartView` for pages, the API and checkout alike."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import User
from cart.errors import CartLineNotFound
from cart.models import CartLine
from cart.services import session_added_price
from catalog.models import Product, Variant
from catalog.querysets import variant_is_buyable


@dataclass(frozen=True)
class CartItem:
    """A cart line with its variant, product and merchant loaded (the selectors load them)."""

    id: int  # the cart line's id; for a session cart, the variant's id
    variant: Variant
    quantity: int
    # What one unit cost when the shopper added it; None when not recorded (older lines).
    added_unit_price: Decimal | None = None

    @property
    def product_name(self) -> str:
        return self.variant.product.name

    @property
    def variant_name(self) -> str:
        return self.variant.name

    @property
    def unit_price(self) -> Decimal:
        return self.variant.price_amount  # always today's server price

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def currency(self) -> str:
        # The variant's own: held to the shop currency by the database, and never relabelled.
        return self.variant.currency

    @property
    def buyable(self) -> bool:
        """Whether checkout can sell it now (catalog's one definition of "buyable")."""
        return variant_is_buyable(
            variant_active=self.variant.is_active,
            product_active=self.variant.product.is_active,
            merchant_active=self.variant.product.merchant.is_active,
        )

    @property
    def price_changed(self) -> bool:
        """The price is not what it was when the shopper added the line."""
        return self.added_unit_price is not None and self.added_unit_price != self.unit_price


@dataclass(frozen=True)
class CartView:
    lines: list[CartItem]
    currency: str

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def variant_ids(self) -> list[int]:
        return [line.variant.pk for line in self.lines]

    @property
    def has_price_changes(self) -> bool:
        return any(line.price_changed for line in self.lines)


def _variants() -> QuerySet[Variant]:
    return Variant.objects.select_related("product__merchant")


def cart_get_for_user(*, user: User) -> CartView:
    """The user's cart with every variant and product loaded, in one query."""
    lines = (
        CartLine.objects.filter(cart__user=user)
        .select_related("variant__product__merchant")
        .order_by("created_at", "id")
    )
    return CartView(
        lines=[_item(line) for line in lines],
        currency=settings.SHOP_CURRENCY,
    )


def _item(line: CartLine) -> CartItem:
    return CartItem(
        id=line.pk,
        variant=line.variant,
        quantity=line.quantity,
        added_unit_price=line.added_unit_price_amount,
    )


def cart_get_for_session(
    *, session_lines: dict[str, int], session_prices: dict[str, str] | None = None
) -> CartView:
    ids = [int(pk) for pk in session_lines]
    variants = _variants().in_bulk(ids) if ids else {}
    return CartView(
        lines=[
            CartItem(
                id=pk,
                variant=variants[pk],
                quantity=session_lines[str(pk)],
                added_unit_price=session_added_price(session_prices or {}, pk),
            )
            for pk in ids
            if pk in variants
        ],
        currency=settings.SHOP_CURRENCY,
    )


def cart_count_for_user(*, user: User) -> int:
    from django.db.models import Sum

    return CartLine.objects.filter(cart__user=user).aggregate(n=Sum("quantity"))["n"] or 0


def cart_count_subquery(*, user: User) -> Any:
    """cart_count_for_user as an expression, for a page that reads it with its own query."""
    from django.db.models import IntegerField, Subquery, Sum, Value
    from django.db.models.functions import Coalesce

    total = (
        CartLine.objects.filter(cart__user=user)
        .order_by()
        .values("cart__user")
        .annotate(n=Sum("quantity"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def variant_product_url(*, variant_id: int) -> str | None:
    """The page of the product a variant belongs to (None if there is no such page: the
    product is withdrawn or its merchant suspended)."""
    product = Product.objects.active().filter(variants__pk=variant_id).only("slug").first()
    return product.get_absolute_url() if product is not None else None


def cart_line_get_for_user(*, user: User, line_id: int) -> CartItem:
    """One line of the user's cart; another user's line does not exist (404)."""
    line = (
        CartLine.objects.filter(cart__user=user, pk=line_id)
        .select_related("variant__product__merchant")
        .first()
    )
    if line is None:
        raise CartLineNotFound()
    return _item(line)
