"""Writes to the catalog that must keep an invariant."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import connection, models, transaction
from django.utils import timezone
from PIL import Image, ImageOps

from catalog.errors import MerchantNotAllowed
from catalog.models import Merchant, Product, ProductImage, StockMovement, Variant
from catalog.versions import LISTS_PRICE, LISTS_RATING, LISTS_STOCK, products_changed
from shop.core.tasks import enqueue, enqueue_on_commit

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

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
RETURNING p.id, p.price_amount, p.in_stock, p.category_id
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
            "SELECT id, price_amount, in_stock FROM catalog_product"
            " WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            [ids],
        )
        before = {pk: (price, in_stock) for pk, price, in_stock in cursor.fetchall()}
        cursor.execute(_SUMMARY_SQL, [ids])
        after = cursor.fetchall()
        # Lists hold products by price and by stock state: only the kinds whose value
        # changed go stale, beside the pages showing these products; a product back in
        # stock may join what its category shows.
        lists = set()
        restocked = set()
        for pk, price, in_stock, category_id in after:
            if price != before[pk][0]:
                lists.add(LISTS_PRICE)
            if in_stock != before[pk][1]:
                lists.add(LISTS_STOCK)
                if in_stock:
                    restocked.add(category_id)
        products_changed(
            product_ids=[row[0] for row in after], cards=True, lists=lists, categories=restocked
        )
    return len(after)


@dataclass(frozen=True)
class RatingFigures:
    """A product's review figures, as the reviews app computes them."""

    count: int
    average: Decimal
    score: Decimal
    histogram: dict[str, int]


_NO_RATINGS = RatingFigures(
    count=0,
    average=Decimal("0.00"),
    score=Decimal("0"),
    histogram={str(stars): 0 for stars in range(1, 6)},
)

# One statement for any number of products; products without figures get zeros.
_RATINGS_SQL = """
UPDATE catalog_product AS p
SET rating_count = COALESCE(f.n, 0),
    rating_avg = COALESCE(f.average, 0),
    rating_score = COALESCE(f.score, 0),
    rating_histogram = COALESCE(f.histogram, %(empty)s::jsonb)
FROM catalog_product AS p2
LEFT JOIN unnest(%(ids)s::bigint[], %(counts)s::int[], %(averages)s::numeric[],
                 %(scores)s::numeric[], %(histograms)s::jsonb[])
     AS f(id, n, average, score, histogram) ON f.id = p2.id
WHERE p.id = p2.id AND {where}
  AND (p.rating_count, p.rating_avg, p.rating_score, p.rating_histogram)
      IS DISTINCT FROM (COALESCE(f.n, 0), COALESCE(f.average, 0), COALESCE(f.score, 0),
                        COALESCE(f.histogram, %(empty)s::jsonb))
RETURNING p.id, p.category_id
"""


def product_ratings_write(
    *, product_ids: Collection[int] | None, figures: Mapping[int, RatingFigures]
) -> int:
    """Write the rating figures of `product_ids` (every product when None): those in
    `figures`, zeros for the rest. Returns how many products' figures changed (only those
    are written); their cached pages, and lists sorted by rating, follow once the caller
    commits."""
    ids = sorted(figures)
    params: dict[str, Any] = {
        "empty": json.dumps(_NO_RATINGS.histogram),
        "ids": ids,
        "counts": [figures[pk].count for pk in ids],
        "averages": [figures[pk].average for pk in ids],
        "scores": [figures[pk].score for pk in ids],
        "histograms": [json.dumps(figures[pk].histogram) for pk in ids],
    }
    where = "TRUE"
    if product_ids is not None:
        where = "p2.id = ANY(%(only)s)"
        params["only"] = sorted(set(product_ids))
    with connection.cursor() as cursor:
        cursor.execute(_RATINGS_SQL.format(where=where), params)
        updated = cursor.fetchall()
    if updated:
        products_changed(
            product_ids=[pk for pk, _ in updated],
            cards=True,
            lists=[LISTS_RATING],
            categories={category_id for _, category_id in updated},
        )
    return len(updated)


def merchant_scope_check(*, user: User, merchant_ids: Iterable[int]) -> None:
    """Raise MerchantNotAllowed unless the user staffs every one of these merchants.

    Superusers manage every merchant."""
    ids = set(merchant_ids)
    if user.is_superuser or not ids:
        return
    if Merchant.objects.filter(pk__in=ids, staff=user).count() != len(ids):
        raise MerchantNotAllowed()


def _writable_fields(
    model: type[models.Model], names: Iterable[str], *, never: Iterable[str] = ()
) -> list[str]:
    """Of `names`, the concrete editable columns, plus `updated_at`: what a partial save writes.

    Columns other code maintains (a product's summary and rating, a variant's `reserved`)
    are not editable, so an edit never writes back a stale copy of them."""
    skip = set(never)
    writable = {
        field.name
        for field in model._meta.concrete_fields
        if field.editable and not field.primary_key and not field.generated
    } - skip
    return [*dict.fromkeys(name for name in names if name in writable), "updated_at"]


def _products_lock(*, product_ids: Iterable[int]) -> dict[int, int]:
    """Lock products in primary-key order; returns {product id: merchant id}.

    Catalog writes that hold a product and its variants take the product first; stock
    services hold only variants (their summary refresh runs after commit), so neither
    order can deadlock the other."""
    rows = (
        Product.objects.select_for_update()
        .filter(pk__in=set(product_ids))
        .order_by("pk")
        .values_list("pk", "merchant_id")
    )
    return dict(rows)


@transaction.atomic
def product_save(*, product: Product, fields: Iterable[str], by: User) -> Product:
    """Create a product, or write only the editable `fields` of an existing one, for a user
    who manages its merchant (before and after the edit).

    Callers validate the values (the admin form runs full_clean); the constraints back it up."""
    merchant_ids = {product.merchant_id}
    if not product._state.adding:
        merchant_ids |= set(_products_lock(product_ids=[product.pk]).values())
    merchant_scope_check(user=by, merchant_ids=merchant_ids)
    if product._state.adding:
        product.save()
    else:
        product.save(update_fields=_writable_fields(Product, fields))
    return product


@transaction.atomic
def variant_save(
    *, variant: Variant, fields: Iterable[str], by: User, initial_stock: int = 0
) -> Variant:
    """Create a variant with `initial_stock`, or write only the editable `fields` of an
    existing one; then refresh the listed summary of its product (both, if it moved).

    Stock is never written here: a new variant is inserted with none and its initial stock
    recorded as a movement by catalog.stock, which alone changes stock afterwards."""
    from catalog.stock import variant_stock_adjust  # catalog.stock imports this module

    adding = variant._state.adding
    if initial_stock and not adding:
        raise ValueError("initial_stock is for new variants; adjust an existing one's stock")
    product_ids = {variant.product_id}
    if not adding:
        stored = Variant.objects.filter(pk=variant.pk).values_list("product_id", flat=True)
        product_ids.update(stored)
    merchants = _products_lock(product_ids=product_ids)
    if len(merchants) != len(product_ids):
        raise Product.DoesNotExist("The variant's product no longer exists.")
    merchant_scope_check(user=by, merchant_ids=merchants.values())
    if adding:
        variant.stock = variant.reserved = 0
        variant.save()
        if initial_stock:
            variant_stock_adjust(
                variant_id=variant.pk,
                delta=initial_stock,
                reason=StockMovement.Reason.INITIAL,
                by=by,
            )
            variant.refresh_from_db(fields=["stock", "reserved", "stock_available"])
    else:
        variant.save(update_fields=_writable_fields(Variant, fields, never=["stock"]))
    # In this transaction, so lists never show a price the variants no longer have.
    product_summary_refresh(product_ids=product_ids)
    return variant


def product_images_process(*, images: Iterable[ProductImage]) -> list[int]:
    """Queue thumbnails for new or replaced images (after commit); returns their ids.

    A replaced image loses its old thumbnail here, in the caller's transaction, so no page
    shows the thumbnail of a picture that is gone; pages show the image itself until the
    task has made the new one. The sweeper (product_thumbnails_sweep) finds any whose task
    was lost."""
    from catalog.tasks import product_image_thumbnail_task

    ids = sorted({image.pk for image in images})
    ProductImage.objects.filter(pk__in=ids).exclude(thumbnail="", thumbnail_error="").update(
        thumbnail="", thumbnail_error="", updated_at=timezone.now()
    )
    for pk in ids:
        enqueue_on_commit(product_image_thumbnail_task, image_id=pk)
    return ids


def product_image_make_thumbnail(*, image_id: int) -> bool:
    """Write a square-bounded JPEG thumbnail beside a product image that has none; returns
    whether it wrote one.

    Idempotent (an image with a thumbnail, or one that cannot be decoded, is left alone) and
    safe against a replacement while it works: the thumbnail is stored only if the row still
    holds the picture it was made from. The image is decoded outside any transaction."""
    image = ProductImage.objects.filter(pk=image_id).first()
    if image is None or not image.image or image.thumbnail or image.thumbnail_error:
        return False
    source_name = image.image.name
    try:
        source = image.image.storage.open(source_name, "rb")  # other storage errors: retried
    except FileNotFoundError as exc:
        return _thumbnail_failed(image_id=image_id, source_name=source_name, error=exc)
    with source:
        try:
            content = thumbnail_jpeg(source=source)
        except Exception as exc:  # Pillow cannot decode it: damaged, not an image, a bomb
            return _thumbnail_failed(image_id=image_id, source_name=source_name, error=exc)
    field = ProductImage._meta.get_field("thumbnail")
    assert isinstance(field, models.FileField)
    name = field.generate_filename(image, f"{PurePosixPath(source_name).stem}-thumb.jpg")
    stored_name = field.storage.save(name, ContentFile(content))
    with transaction.atomic():
        current = ProductImage.objects.select_for_update().filter(pk=image_id).first()
        if current is None or current.image.name != source_name or current.thumbnail:
            transaction.on_commit(lambda: field.storage.delete(stored_name))
            return False
        current.thumbnail.name = stored_name
        # save(), not update(): the catalog's signals tell cached pages.
        current.save(update_fields=["thumbnail", "updated_at"])
    return True


def _thumbnail_failed(*, image_id: int, source_name: str, error: Exception) -> bool:
    """Record for good that this picture gives no thumbnail (the sweeper skips it)."""
    logger.warning("product image %s: no thumbnail of %s: %r", image_id, source_name, error)
    ProductImage.objects.filter(pk=image_id, image=source_name).update(
        thumbnail_error=repr(error)[:255], updated_at=timezone.now()
    )
    return False


def product_thumbnails_sweep(*, older_than_seconds: int = 300, limit: int = 500) -> int:
    """Queue again images still without a thumbnail (the broker was down when they were
    saved, or the task was lost); returns how many were queued."""
    from catalog.tasks import product_image_thumbnail_task

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pks = (
        ProductImage.objects.filter(thumbnail="", thumbnail_error="", updated_at__lt=cutoff)
        .exclude(image="")
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(enqueue(product_image_thumbnail_task, image_id=pk) for pk in pks)


def thumbnail_jpeg(*, source: IO[bytes]) -> bytes:
    """The thumbnail of an image file as JPEG bytes (shared with the demo seeder)."""
    with Image.open(source) as original:
        picture = ImageOps.exif_transpose(original).convert("RGB")
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
