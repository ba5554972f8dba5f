"""Stock bookkeeping: the only code that changes `Variant.stock` and `Variant.reserved`.

Every service that changes stock locks the variants it needs with `variants_lock`, in
primary-key order. One lock order for everyone means two transactions wanting the same
variants queue behind each other instead of deadlocking, whatever order their carts list
them in. Availability is re-checked under the lock, and the database constraints
(`stock >= 0`, `0 <= reserved <= stock`) are the last line of defence.

`reserved` is the sum of the quantities of lines of orders awaiting payment; it can be
reconciled from those rows at any time (`orders.selectors.stock_drift`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from catalog.errors import InsufficientStock, StockBelowReserved, StockBelowZero
from catalog.models import StockMovement, Variant
from catalog.querysets import variant_is_buyable
from catalog.services import merchant_scope_check, product_summary_refresh
from catalog.versions import products_changed

if TYPE_CHECKING:
    from accounts.models import User


@dataclass
class LockedVariant:
    """A variant row locked for this transaction, with what stock checks and order lines
    read of its product and merchant."""

    id: int
    sku: str
    name: str
    price_amount: Decimal
    currency: str
    stock: int
    reserved: int
    stock_available: int
    is_active: bool
    product_id: int
    product_name: str
    product_is_active: bool
    merchant_id: int
    merchant_name: str
    merchant_is_active: bool

    @property
    def buyable(self) -> bool:
        return variant_is_buyable(
            variant_active=self.is_active,
            product_active=self.product_is_active,
            merchant_active=self.merchant_is_active,
        )


# Written out rather than built by the ORM: every order placement runs it, and compiling
# the equivalent select_related/only queryset cost four times the CPU of running it
# (measured: 0.67 ms against 0.16 ms per call).
_LOCK_SQL = """
SELECT v.id, v.sku, v.name, v.price_amount, v.currency, v.stock, v.reserved,
       v.stock_available, v.is_active, p.id, p.name, p.is_active, m.id, m.name, m.is_active
FROM catalog_variant v
JOIN catalog_product p ON p.id = v.product_id
JOIN catalog_merchant m ON m.id = p.merchant_id
WHERE v.id = ANY(%s)
ORDER BY v.id
FOR UPDATE OF v
"""


def variants_lock(*, variant_ids: Iterable[int]) -> dict[int, LockedVariant]:
    """Lock variants in primary-key order; returns them with their product and merchant."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [sorted(set(variant_ids))])
        return {row[0]: LockedVariant(*row) for row in cursor.fetchall()}


def _apply(
    *, column_deltas: Mapping[str, Mapping[int, int]], variants: Mapping[int, LockedVariant]
) -> None:
    """One UPDATE for all variants: `reserved`/`stock` += their deltas (locks already held)."""
    ids = sorted(variants)
    reserved = [column_deltas.get("reserved", {}).get(pk, 0) for pk in ids]
    stock = [column_deltas.get("stock", {}).get(pk, 0) for pk in ids]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE catalog_variant AS v
            SET reserved = v.reserved + d.reserved, stock = v.stock + d.stock,
                updated_at = now()
            FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS d(id, reserved, stock)
            WHERE v.id = d.id
            """,
            [ids, reserved, stock],
        )
    crossed_zero = set()
    for pk in ids:
        variant = variants[pk]
        was_available = variant.stock_available > 0
        variant.reserved += column_deltas.get("reserved", {}).get(pk, 0)
        variant.stock += column_deltas.get("stock", {}).get(pk, 0)
        variant.stock_available = variant.stock - variant.reserved
        if was_available != (variant.stock_available > 0):
            crossed_zero.add(variant.product_id)
    # Pages show "in stock" / "out of stock", which changes only when a variant crosses
    # zero: only then are the cached pages of its product made stale (its card and lists
    # only if the product's own stock state changes, below). Exact counts (the product
    # API) are cached for STOCK_CACHE_TIMEOUT seconds instead.
    if crossed_zero:
        products_changed(product_ids=crossed_zero)
        # A product's listed stock state changes only when a variant crosses zero. It is
        # refreshed after commit, in a transaction of its own that locks only products:
        # a stock transaction never holds variant and product locks together, so no lock
        # order across the two tables is needed.
        transaction.on_commit(lambda: product_summary_refresh(product_ids=crossed_zero))


@transaction.atomic(savepoint=False)
def stock_reserve(*, quantities: Mapping[int, int]) -> dict[int, LockedVariant]:
    """Reserve `quantities` ({variant id: quantity}) or raise InsufficientStock naming
    every short line; nothing changes unless every line fits."""
    variants = variants_lock(variant_ids=quantities)
    short = []
    for variant_id, quantity in sorted(quantities.items()):
        variant = variants.get(variant_id)
        available = variant.stock_available if variant and variant.buyable else 0
        if quantity > available:
            short.append({"variant": variant_id, "requested": quantity, "available": available})
    if short:
        raise InsufficientStock(extra={"lines": short})
    _apply(column_deltas={"reserved": dict(quantities)}, variants=variants)
    return variants


@transaction.atomic(savepoint=False)
def stock_sell_if_available(*, quantities: Mapping[int, int]) -> bool:
    """Take stock straight off the shelf (no reservation) if every line fits and is still
    buyable; False and nothing changed otherwise. For money that arrived after the
    reservation was released: a variant withdrawn meanwhile (or its merchant suspended)
    is not sold again."""
    variants = variants_lock(variant_ids=quantities)
    for variant_id, quantity in quantities.items():
        variant = variants.get(variant_id)
        if variant is None or not variant.buyable or quantity > variant.stock_available:
            return False
    _apply(column_deltas={"stock": {pk: -q for pk, q in quantities.items()}}, variants=variants)
    return True


@transaction.atomic(savepoint=False)
def stock_release(*, quantities: Mapping[int, int]) -> None:
    """Give back reservations of an order that will not be paid."""
    variants = variants_lock(variant_ids=quantities)
    _apply(column_deltas={"reserved": {pk: -q for pk, q in quantities.items()}}, variants=variants)


@transaction.atomic(savepoint=False)
def stock_commit(*, quantities: Mapping[int, int]) -> None:
    """A reserved quantity has been paid for: it leaves the shelf and the reservation."""
    variants = variants_lock(variant_ids=quantities)
    deltas = {pk: -q for pk, q in quantities.items()}
    _apply(column_deltas={"reserved": deltas, "stock": deltas}, variants=variants)


@transaction.atomic(savepoint=False)
def stock_restock(*, quantities: Mapping[int, int]) -> None:
    """Sold units come back on the shelf (a paid order cancelled before shipping)."""
    variants = variants_lock(variant_ids=quantities)
    _apply(column_deltas={"stock": dict(quantities)}, variants=variants)


# A savepoint (not savepoint=False as above): a caller may catch a refusal and go on in its
# own transaction, e.g. an admin page adjusting several variants.
@transaction.atomic
def variant_stock_adjust(
    *, variant_id: int, delta: int, reason: str, by: User | None, note: str = ""
) -> StockMovement:
    """Add `delta` units to a variant's stock on hand (negative takes them away) and record
    it as a StockMovement; returns the movement, whose `stock_after` is the new stock.

    Decided on the locked row, so a sale in between is never overwritten: stock can go
    neither below zero nor below what open orders have reserved. `by` None is the shop
    itself (a task, an import); a user must staff the variant's merchant."""
    if delta == 0:
        raise ValidationError(
            {"delta": _("An adjustment must change the stock: give a number other than 0.")},
            code="zero_delta",
        )
    if reason not in StockMovement.Reason.values:
        raise ValidationError(
            {"reason": _("%(reason)s is not a known reason.") % {"reason": reason}},
            code="invalid",
        )
    variants = variants_lock(variant_ids=[variant_id])
    variant = variants.get(variant_id)
    if variant is None:
        raise Variant.DoesNotExist(f"No variant {variant_id}.")
    if by is not None:
        merchant_scope_check(user=by, merchant_ids=[variant.merchant_id])
    stock_after = variant.stock + delta
    figures = {"stock": variant.stock, "reserved": variant.reserved, "stock_after": stock_after}
    if stock_after < 0:
        raise StockBelowZero(
            _("Only %(stock)s on hand: taking %(taken)s away would leave less than none.")
            % {"stock": variant.stock, "taken": -delta},
            extra=figures,
        )
    if stock_after < variant.reserved:
        raise StockBelowReserved(
            _(
                "%(reserved)s are reserved by open orders, so stock on hand can't go below "
                "%(reserved)s (this change would leave %(stock_after)s)."
            )
            % figures,
            extra=figures,
        )
    _apply(column_deltas={"stock": {variant_id: delta}}, variants=variants)
    return StockMovement.objects.create(
        variant_id=variant_id,
        delta=delta,
        reason=reason,
        note=note,
        actor=by,
        stock_after=variant.stock,
    )


def variant_reserved_drift(*, held: Mapping[int, int]) -> list[dict]:
    """Variants whose `reserved` differs from `held` ({variant id: quantity} that orders
    awaiting payment hold, as the orders app counts them; absent means none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT v.id, v.sku, v.reserved, COALESCE(h.held, 0)
            FROM catalog_variant v
            LEFT JOIN unnest(%s::bigint[], %s::int[]) AS h(id, held) ON h.id = v.id
            WHERE v.reserved <> COALESCE(h.held, 0)
            ORDER BY v.id
            """,
            [list(held), list(held.values())],
        )
        return [
            {"variant": row[0], "sku": row[1], "reserved": row[2], "held": row[3]}
            for row in cursor.fetchall()
        ]
