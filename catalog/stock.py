"""Stock bookkeeping: the only code that changes `Variant.stock` and `Variant.reserved`.

Every service that changes stock locks the variants it needs with `variants_lock`, in
primary-key order. One lock order for everyone means two transactions wanting the same
variants queue behind each other instead of deadlocking, whatever order their carts list
them in. Availability is re-checked under the lock, and the database constraints
(`stock >= 0`, `0 <= reserved <= stock`) are the last line of defence.

`reserved` is the sum of the quantities of lines of orders awaiting payment; it can be
reconciled from those rows at any time (`stock_drift`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import connection, transaction

from catalog.errors import InsufficientStock
from catalog.models import Variant
from catalog.services import product_summary_refresh
from shop.core.pagecache import catalog_changed

_LOCKED_FIELDS = (
    "id",
    "sku",
    "name",
    "price_amount",
    "currency",
    "stock",
    "reserved",
    "stock_available",
    "is_active",
    "product__id",
    "product__name",
    "product__is_active",
    "product__merchant__id",
    "product__merchant__name",
)


def variants_lock(*, variant_ids: Iterable[int]) -> dict[int, Variant]:
    """Lock variants (with their products and merchants loaded) in primary-key order."""
    ids = sorted(set(variant_ids))
    variants = (
        Variant.objects.select_for_update(of=("self",))
        .select_related("product__merchant")
        # Only what stock checks and order lines read: not descriptions or search vectors.
        .only(*_LOCKED_FIELDS)
        .filter(pk__in=ids)
        .order_by("pk")
    )
    return {variant.pk: variant for variant in variants}


def _apply(*, column_deltas: Mapping[str, Mapping[int, int]], variants: Mapping[int, Variant]):
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
    # zero: only then are cached pages made stale. Exact counts (the product API) are
    # cached for STOCK_CACHE_TIMEOUT seconds instead.
    if crossed_zero:
        transaction.on_commit(catalog_changed)
        # A product's listed stock state changes only when a variant crosses zero. It is
        # refreshed after commit, in a transaction of its own that locks only products:
        # a stock transaction never holds variant and product locks together, so no lock
        # order across the two tables is needed.
        transaction.on_commit(lambda: product_summary_refresh(product_ids=crossed_zero))


@transaction.atomic(savepoint=False)
def stock_reserve(*, quantities: Mapping[int, int]) -> dict[int, Variant]:
    """Reserve `quantities` ({variant id: quantity}) or raise InsufficientStock naming
    every short line; nothing changes unless every line fits."""
    variants = variants_lock(variant_ids=quantities)
    short = []
    for variant_id, quantity in sorted(quantities.items()):
        variant = variants.get(variant_id)
        available = (
            variant.stock_available
            if variant and variant.is_active and variant.product.is_active
            else 0
        )
        if quantity > available:
            short.append({"variant": variant_id, "requested": quantity, "available": available})
    if short:
        raise InsufficientStock(extra={"lines": short})
    _apply(column_deltas={"reserved": dict(quantities)}, variants=variants)
    return variants


@transaction.atomic(savepoint=False)
def stock_sell_if_available(*, quantities: Mapping[int, int]) -> bool:
    """Take stock straight off the shelf (no reservation) if every line fits; False and
    nothing changed otherwise. For money that arrived after the reservation was released."""
    variants = variants_lock(variant_ids=quantities)
    for variant_id, quantity in quantities.items():
        variant = variants.get(variant_id)
        if variant is None or quantity > variant.stock_available:
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


def stock_drift() -> list[dict]:
    """Variants whose `reserved` differs from the lines of orders awaiting payment."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT v.id, v.sku, v.reserved, COALESCE(h.held, 0) AS held
            FROM catalog_variant v
            LEFT JOIN (
                SELECT l.variant_id, SUM(l.quantity) AS held
                FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
                WHERE o.status = 'pending_payment'
                GROUP BY l.variant_id
            ) h ON h.variant_id = v.id
            WHERE v.reserved <> COALESCE(h.held, 0)
            ORDER BY v.id
            """
        )
        return [
            {"variant": row[0], "sku": row[1], "reserved": row[2], "held": row[3]}
            for row in cursor.fetchall()
        ]
