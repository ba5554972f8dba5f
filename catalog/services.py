"""Writes to the catalog that must keep an invariant."""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from django.db import connection, transaction
from PIL import Image, ImageOps

from catalog.models import ProductImage

THUMBNAIL_SIZE = (400, 400)

# One statement for any number of products: the cheapest active variant's price and
# whether any active variant has stock available. Callers hold the transaction that
# changed the variants, so lists never show a price or stock state the variants don't have.
_SUMMARY_SQL = """
UPDATE catalog_product AS p
SET price_amount = COALESCE(s.min_price, 0), in_stock = COALESCE(s.any_stock, false)
FROM (
    SELECT p2.id,
           MIN(v.price_amount) AS min_price,
           BOOL_OR(v.stock_available > 0) AS any_stock
    FROM catalog_product p2
    LEFT JOIN catalog_variant v ON v.product_id = p2.id AND v.is_active
    WHERE p2.id = ANY(%s)
    GROUP BY p2.id
) AS s
WHERE p.id = s.id
  AND (p.price_amount, p.in_stock)
      IS DISTINCT FROM (COALESCE(s.min_price, 0), COALESCE(s.any_stock, false))
"""


def product_summary_refresh(*, product_ids: Iterable[int]) -> int:
    """Recompute the listed price and stock state of products from their variants.

    Returns the number of products whose summary changed."""
    ids = sorted(set(product_ids))
    if not ids:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SUMMARY_SQL, [ids])
        changed = cursor.rowcount
    if changed:
        from shop.core.pagecache import catalog_changed

        transaction.on_commit(catalog_changed)
    return changed


def product_image_make_thumbnail(*, image: ProductImage) -> ProductImage:
    """Write a square-bounded JPEG thumbnail beside an uploaded product image."""
    image.image.open("rb")
    try:
        with Image.open(image.image) as source:
            picture = ImageOps.exif_transpose(source).convert("RGB")
            picture.thumbnail(THUMBNAIL_SIZE)
            buffer = BytesIO()
            picture.save(buffer, format="JPEG", quality=85, optimize=True)
    finally:
        image.image.close()
    stem = PurePosixPath(image.image.name).stem
    image.thumbnail.save(f"{stem}-thumb.jpg", ContentFile(buffer.getvalue()), save=False)
    image.save(update_fields=["thumbnail", "updated_at"])
    return image
