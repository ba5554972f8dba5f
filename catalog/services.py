"""Writes to the catalog that must keep an invariant."""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import connection, transaction
from PIL import Image, ImageOps

from catalog.errors import MerchantNotAllowed
from catalog.models import Merchant, ProductImage

if TYPE_CHECKING:
    from accounts.models import User

THUMBNAIL_SIZE = (400, 400)
# Created by catalog/migrations/0002_merchants_group.py with the permissions merchant staff need.
MERCHANTS_GROUP = "Merchants"

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
        # Lock the products first, in primary-key order, then compute: the statement that
        # computes starts after the lock is ours, so it sees every variant change committed
        # before, and two refreshes of one product can neither deadlock nor undo each other.
        cursor.execute(
            "SELECT id FROM catalog_product WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids]
        )
        cursor.execute(_SUMMARY_SQL, [ids])
        changed = cursor.rowcount
    if changed:
        from shop.core.pagecache import catalog_changed

        transaction.on_commit(catalog_changed)
    return changed


def merchant_scope_check(*, user: User, merchant_ids: Iterable[int]) -> None:
    """Raise MerchantNotAllowed unless the user staffs every one of these merchants.

    Superusers manage every merchant."""
    ids = set(merchant_ids)
    if user.is_superuser or not ids:
        return
    if Merchant.objects.filter(pk__in=ids, staff=user).count() != len(ids):
        raise MerchantNotAllowed()


def product_image_make_thumbnail(*, image: ProductImage) -> ProductImage:
    """Write a square-bounded JPEG thumbnail beside an uploaded product image."""
    image.image.open("rb")
    try:
        content = thumbnail_jpeg(source=image.image)
    finally:
        image.image.close()
    stem = PurePosixPath(image.image.name).stem
    image.thumbnail.save(f"{stem}-thumb.jpg", ContentFile(content), save=False)
    image.save(update_fields=["thumbnail", "updated_at"])
    return image


def thumbnail_jpeg(*, source: IO[bytes]) -> bytes:
    """The thumbnail of an image file as JPEG bytes (shared with the demo seeder)."""
    with Image.open(source) as picture:
        picture = ImageOps.exif_transpose(picture).convert("RGB")
        picture.thumbnail(THUMBNAIL_SIZE)
        buffer = BytesIO()
        picture.save(buffer, format="JPEG", quality=85, optimize=True)
    return buffer.getvalue()


@transaction.atomic
def merchant_staff_set(*, merchant: Merchant, users: Iterable[User]) -> Merchant:
    """Make exactly these users the merchant's staff.

    Added users get admin access (`is_staff`) and the Merchants group's permissions;
    users who no longer staff any merchant leave the group (their `is_staff` stays, as
    they may be shop employees too)."""
    from django.contrib.auth.models import Group

    group = Group.objects.get(name=MERCHANTS_GROUP)
    new_ids = {user.pk for user in users}
    old_ids = set(merchant.staff.values_list("pk", flat=True))
    merchant.staff.set(new_ids)

    added = get_user_model().objects.filter(pk__in=new_ids - old_ids)
    added.filter(is_staff=False).update(is_staff=True)
    group.user_set.add(*added)

    gone = get_user_model().objects.filter(pk__in=old_ids - new_ids, merchants=None)
    group.user_set.remove(*gone)
    return merchant
