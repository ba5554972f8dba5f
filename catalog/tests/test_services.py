"""Catalog services used by the admin and the demo seeder, and stock adjustments."""

import threading
import time
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from PIL import Image

from accounts.tests.factories import UserFactory
from catalog import stock
from catalog.errors import MerchantNotAllowed, StockBelowReserved, StockBelowZero
from catalog.models import Product, ProductImage, StockMovement, Variant
from catalog.services import (
    MERCHANTS_GROUP,
    merchant_staff_set,
    product_image_make_thumbnail,
    product_images_process,
    product_save,
    product_summary_refresh,
    thumbnail_jpeg,
    variant_save,
)
from catalog.stock import stock_commit, stock_reserve, variant_stock_adjust
from catalog.tests.factories import (
    CategoryFactory,
    MerchantFactory,
    ProductFactory,
    VariantFactory,
)
from shop.core.testing import run_together

pytestmark = pytest.mark.django_db


def _jpeg_bytes(size=(1200, 800)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


# --- product_summary_refresh -----------------------------------------------------------


def test_summary_takes_the_cheapest_active_variant_and_any_available_stock():
    product = ProductFactory(variants__price_amount=Decimal("20.00"), variants__stock=0)
    VariantFactory(product=product, price_amount=Decimal("15.00"), stock=2)
    VariantFactory(product=product, price_amount=Decimal("5.00"), stock=9, is_active=False)

    changed = product_summary_refresh(product_ids=[product.pk])

    product.refresh_from_db()
    assert changed == 1
    assert (product.price_amount, product.in_stock) == (Decimal("15.00"), True)


def test_summary_counts_reserved_stock_as_unavailable():
    product = ProductFactory(variants__stock=3)
    Variant.objects.filter(product=product).update(reserved=3)

    product_summary_refresh(product_ids=[product.pk])

    product.refresh_from_db()
    assert product.in_stock is False


def test_summary_refresh_reports_no_change_when_already_current():
    product = ProductFactory()

    assert product_summary_refresh(product_ids=[product.pk]) == 0
    assert product_summary_refresh(product_ids=[]) == 0


# --- thumbnails --------------------------------------------------------------------------


def test_thumbnail_jpeg_fits_the_box_and_keeps_the_aspect_ratio():
    data = thumbnail_jpeg(source=BytesIO(_jpeg_bytes((1200, 800))))

    with Image.open(BytesIO(data)) as picture:
        assert picture.format == "JPEG"
        assert picture.size == (400, 267)


def test_product_image_make_thumbnail_saves_a_file_and_the_row(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    image = ProductImage.objects.create(
        product=ProductFactory(),
        image=SimpleUploadedFile("lamp.jpg", _jpeg_bytes(), content_type="image/jpeg"),
    )

    assert product_image_make_thumbnail(image_id=image.pk) is True

    stored = ProductImage.objects.get(pk=image.pk)
    assert stored.thumbnail.name.endswith("lamp-thumb.jpg")
    assert (tmp_path / stored.thumbnail.name).is_file()
    # Idempotent: a second run (a redelivered task, the sweeper) changes nothing.
    assert product_image_make_thumbnail(image_id=image.pk) is False
    assert ProductImage.objects.get(pk=image.pk).thumbnail.name == stored.thumbnail.name


# --- merchant_staff_set ----------------------------------------------------------------


def test_merchant_staff_set_grants_admin_access_and_the_group():
    merchant = MerchantFactory()
    user = UserFactory(is_staff=False)

    merchant_staff_set(merchant=merchant, users=[user])

    user.refresh_from_db()
    assert list(merchant.staff.all()) == [user]
    assert user.is_staff
    assert user.groups.filter(name=MERCHANTS_GROUP).exists()
    assert set(Product.objects.for_staff(user)) == set()


def test_merchant_staff_set_removes_the_group_only_when_no_merchant_is_left():
    first, second = MerchantFactory(), MerchantFactory()
    both, one = UserFactory(), UserFactory()
    merchant_staff_set(merchant=first, users=[both, one])
    merchant_staff_set(merchant=second, users=[both])

    merchant_staff_set(merchant=first, users=[])

    assert both.groups.filter(name=MERCHANTS_GROUP).exists()  # still works for `second`
    assert not one.groups.filter(name=MERCHANTS_GROUP).exists()
    assert list(first.staff.all()) == []


def test_product_images_process_queues_a_thumbnail_for_each_image_after_commit(
    settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    from catalog.tasks import product_image_thumbnail_task

    settings.MEDIA_ROOT = tmp_path
    sent = []
    monkeypatch.setattr(
        product_image_thumbnail_task, "apply_async", lambda kwargs, **options: sent.append(kwargs)
    )
    product = ProductFactory()
    images = [
        ProductImage.objects.create(
            product=product,
            image=SimpleUploadedFile(f"{name}.jpg", _jpeg_bytes(), content_type="image/jpeg"),
        )
        for name in ("front", "back")
    ]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        product_images_process(images=images)
    assert sent == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    for kwargs in sent:
        product_image_thumbnail_task(**kwargs)

    stored = ProductImage.objects.filter(product=product).order_by("id")
    assert [image.thumbnail.name.rsplit("/", 1)[-1] for image in stored] == [
        "front-thumb.jpg",
        "back-thumb.jpg",
    ]


# --- variant_stock_adjust ----------------------------------------------------------------


@pytest.fixture
def staff_user():
    return UserFactory(is_staff=True)


@pytest.fixture
def variant(staff_user):
    merchant = MerchantFactory(staff=[staff_user])
    return ProductFactory(merchant=merchant, variants__stock=10).variants.get()


def test_adjust_adds_and_takes_away_stock_and_records_each_movement(variant, staff_user):
    up = variant_stock_adjust(
        variant_id=variant.pk, delta=5, reason="adjustment", by=staff_user, note="Delivery 42"
    )
    down = variant_stock_adjust(variant_id=variant.pk, delta=-3, reason="damaged", by=staff_user)

    variant.refresh_from_db()
    assert variant.stock == 12
    rows = list(StockMovement.objects.filter(variant=variant).order_by("id"))
    assert rows == [up, down]
    assert [(m.delta, m.reason, m.stock_after, m.actor) for m in rows] == [
        (5, "adjustment", 15, staff_user),
        (-3, "damaged", 12, staff_user),
    ]
    assert rows[0].note == "Delivery 42"


def test_adjust_may_take_stock_down_to_what_is_reserved_but_not_below(variant, staff_user):
    Variant.objects.filter(pk=variant.pk).update(reserved=6)

    with pytest.raises(StockBelowReserved) as refused:
        variant_stock_adjust(variant_id=variant.pk, delta=-5, reason="correction", by=staff_user)
    variant_stock_adjust(variant_id=variant.pk, delta=-4, reason="correction", by=staff_user)

    assert "6 are reserved by open orders" in str(refused.value.message)
    assert refused.value.extra == {"stock": 10, "reserved": 6, "stock_after": 5}
    assert refused.value.status_code == 409
    variant.refresh_from_db()
    assert (variant.stock, variant.reserved, variant.stock_available) == (6, 6, 0)
    assert StockMovement.objects.filter(variant=variant).count() == 1


def test_adjust_below_zero_is_refused_and_changes_nothing(variant, staff_user):
    with pytest.raises(StockBelowZero) as refused:
        variant_stock_adjust(variant_id=variant.pk, delta=-11, reason="damaged", by=staff_user)

    assert "Only 10 on hand" in str(refused.value.message)
    variant.refresh_from_db()
    assert variant.stock == 10
    assert not StockMovement.objects.exists()


@pytest.mark.parametrize(
    ("delta", "reason", "field"), [(0, "adjustment", "delta"), (1, "stolen", "reason")]
)
def test_adjust_with_no_change_or_an_unknown_reason_is_a_validation_error(
    variant, staff_user, delta, reason, field
):
    with pytest.raises(ValidationError) as invalid:
        variant_stock_adjust(variant_id=variant.pk, delta=delta, reason=reason, by=staff_user)

    assert field in invalid.value.message_dict
    assert not StockMovement.objects.exists()


def test_adjust_by_staff_of_another_merchant_is_refused_but_the_shop_itself_may(variant):
    outsider = UserFactory(is_staff=True)
    MerchantFactory(staff=[outsider])

    with pytest.raises(MerchantNotAllowed):
        variant_stock_adjust(variant_id=variant.pk, delta=1, reason="adjustment", by=outsider)
    by_shop = variant_stock_adjust(variant_id=variant.pk, delta=1, reason="return", by=None)
    by_superuser = variant_stock_adjust(
        variant_id=variant.pk, delta=1, reason="return", by=UserFactory(is_superuser=True)
    )

    assert (by_shop.actor, by_shop.stock_after, by_superuser.stock_after) == (None, 11, 12)


def test_adjust_of_a_missing_variant_is_not_found(staff_user):
    with pytest.raises(Variant.DoesNotExist):
        variant_stock_adjust(variant_id=999_999, delta=1, reason="adjustment", by=staff_user)


def test_adjust_that_crosses_zero_refreshes_the_product_after_commit(
    variant, staff_user, django_capture_on_commit_callbacks
):
    product = variant.product

    with django_capture_on_commit_callbacks(execute=True):
        variant_stock_adjust(variant_id=variant.pk, delta=-10, reason="damaged", by=staff_user)
    product.refresh_from_db()
    sold_out = product.in_stock
    with django_capture_on_commit_callbacks(execute=True):
        variant_stock_adjust(variant_id=variant.pk, delta=2, reason="return", by=staff_user)
    product.refresh_from_db()

    assert (sold_out, product.in_stock) == (False, True)


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"delta": 0}, "catalog_stockmovement_delta_not_zero"),
        ({"reason": "stolen"}, "catalog_stockmovement_reason_valid"),
        ({"stock_after": -1}, "catalog_stockmovement_stock_after_not_negative"),
    ],
)
def test_stock_movement_constraints_back_the_service_up(variant, changes, constraint):
    row = {"variant": variant, "delta": 1, "reason": "adjustment", "stock_after": 1, **changes}

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        StockMovement.objects.create(**row)


# --- races on real PostgreSQL ------------------------------------------------------------


def _a_session_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT EXISTS (
                SELECT 1 FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                  AND wait_event_type = 'Lock'
            )
            """
        )
        return cursor.fetchone()[0]


class _LockHolder:
    """Stops one thread inside catalog.stock._apply, its variant rows locked, until a referee
    sees another session waiting for a lock: the two writers are made to overlap for sure."""

    def __init__(self, monkeypatch):
        self.thread = None
        self.holding = threading.Event()
        self.released = threading.Event()
        real_apply = stock._apply

        def apply(**kwargs):
            if threading.current_thread() is self.thread:
                self.holding.set()
                assert self.released.wait(timeout=60), "the referee never released the lock"
            return real_apply(**kwargs)

        monkeypatch.setattr(stock, "_apply", apply)

    def holds(self, function):
        def run():
            self.thread = threading.current_thread()
            return function()

        return run

    def then(self, function):
        def run():
            assert self.holding.wait(timeout=60), "the holder never took the lock"
            return function()

        return run

    def referee(self):
        assert self.holding.wait(timeout=60), "the holder never took the lock"
        deadline = time.monotonic() + 60
        while not _a_session_waits_for_a_lock():
            assert time.monotonic() < deadline, "the second writer never waited for the lock"
            self.released.wait(0.01)
        self.released.set()


def _sell_one(variant_id):
    def sell():
        stock_reserve(quantities={variant_id: 1})  # the order is placed ...
        stock_commit(quantities={variant_id: 1})  # ... and paid

    return sell


@pytest.mark.django_db(transaction=True)
def test_a_sale_waiting_behind_an_adjustment_is_not_lost(monkeypatch):
    variant = VariantFactory(stock=10)
    hold = _LockHolder(monkeypatch)

    def adjust():
        return variant_stock_adjust(variant_id=variant.pk, delta=2, reason="return", by=None)

    movement, sale, _ = run_together(
        [hold.holds(adjust), hold.then(_sell_one(variant.pk)), hold.referee]
    )

    assert isinstance(movement, StockMovement), movement
    assert sale is None
    assert movement.stock_after == 12  # the adjustment went first ...
    variant.refresh_from_db()
    assert (variant.stock, variant.reserved) == (11, 0)  # ... and the sale still counted


@pytest.mark.django_db(transaction=True)
def test_an_adjustment_waiting_behind_a_reservation_is_decided_on_the_new_figures(monkeypatch):
    variant = VariantFactory(stock=10)
    hold = _LockHolder(monkeypatch)

    def reserve():
        return stock_reserve(quantities={variant.pk: 8})

    def adjust():
        return variant_stock_adjust(variant_id=variant.pk, delta=-5, reason="damaged", by=None)

    reserved, refused, _ = run_together([hold.holds(reserve), hold.then(adjust), hold.referee])

    assert not isinstance(reserved, Exception), reserved
    # It read stock 10 with nothing reserved before it waited; it decided on 8 reserved.
    assert isinstance(refused, StockBelowReserved), refused
    assert refused.extra["reserved"] == 8
    variant.refresh_from_db()
    assert (variant.stock, variant.reserved) == (10, 8)
    assert not StockMovement.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_sales_and_adjustments_racing_lose_no_update():
    variant = VariantFactory(stock=10)

    def adjust(delta):
        return lambda: variant_stock_adjust(
            variant_id=variant.pk, delta=delta, reason="adjustment", by=None
        )

    deltas = [3, -2, 5, -1]
    results = run_together([*(adjust(d) for d in deltas), *(_sell_one(variant.pk),) * 4])

    assert not [r for r in results if isinstance(r, Exception)], results
    variant.refresh_from_db()
    assert (variant.stock, variant.reserved) == (10 + sum(deltas) - 4, 0)
    movements = list(StockMovement.objects.filter(variant=variant).order_by("id"))
    assert sorted(m.delta for m in movements) == sorted(deltas)


# --- product_save and variant_save -------------------------------------------------------


@pytest.fixture
def merchant(staff_user):
    return MerchantFactory(staff=[staff_user])


def test_product_save_writes_only_the_edited_fields(merchant, staff_user):
    product = ProductFactory(merchant=merchant, name="Lamp")
    stale = Product.objects.get(pk=product.pk)
    # Meanwhile the reviews task and a sale changed what the admin form doesn't edit.
    Product.objects.filter(pk=product.pk).update(
        rating_avg=Decimal("4.50"), rating_count=2, in_stock=False
    )
    stale.name = "Desk Lamp"
    stale.rating_avg = Decimal("1.00")

    product_save(product=stale, fields=["name", "rating_avg", "in_stock"], by=staff_user)

    product.refresh_from_db()
    assert product.name == "Desk Lamp"
    assert (product.rating_avg, product.rating_count, product.in_stock) == (
        Decimal("4.50"),
        2,
        False,
    )


def test_product_save_creates_a_product_for_the_users_merchant(merchant, staff_user):
    product = Product(merchant=merchant, category=CategoryFactory(), name="New", slug="new")

    product_save(product=product, fields=[], by=staff_user)

    assert Product.objects.get(slug="new").merchant == merchant


def test_product_save_refuses_merchants_the_user_does_not_staff(merchant, staff_user):
    other = MerchantFactory()
    theirs = ProductFactory(merchant=other, name="Theirs")
    ours = ProductFactory(merchant=merchant, name="Ours")

    theirs.merchant = merchant  # taking another merchant's product
    ours.merchant = other  # giving ours away
    new = Product(merchant=other, category=CategoryFactory(), name="X", slug="x")
    for product in (theirs, ours, new):
        with pytest.raises(MerchantNotAllowed):
            product_save(product=product, fields=["merchant", "name"], by=staff_user)

    assert Product.objects.get(pk=theirs.pk).merchant == other
    assert Product.objects.get(pk=ours.pk).merchant == merchant
    assert not Product.objects.filter(slug="x").exists()
    superuser = UserFactory(is_superuser=True)
    product_save(product=ours, fields=["merchant"], by=superuser)
    assert Product.objects.get(pk=ours.pk).merchant == other


def test_variant_save_creates_with_the_initial_stock_as_a_movement(merchant, staff_user):
    product = ProductFactory(merchant=merchant, variants__stock=0)
    variant = Variant(product=product, sku="NEW-1", name="New", price_amount=Decimal("3.00"))
    variant.stock = 99  # what a form set: never written as such

    variant_save(variant=variant, fields=[], by=staff_user, initial_stock=4)

    stored = Variant.objects.get(sku="NEW-1")
    assert (stored.stock, stored.reserved) == (4, 0)
    movement = stored.stock_movements.get()
    assert (movement.reason, movement.delta, movement.stock_after) == ("initial", 4, 4)
    assert movement.actor == staff_user
    product.refresh_from_db()
    assert (product.price_amount, product.in_stock) == (Decimal("3.00"), True)


def test_variant_save_never_writes_stock_or_reserved_of_an_existing_variant(merchant, staff_user):
    variant = ProductFactory(merchant=merchant, variants__stock=10).variants.get()
    stale = Variant.objects.get(pk=variant.pk)
    Variant.objects.filter(pk=variant.pk).update(stock=7, reserved=2)  # a sale, an order
    stale.price_amount, stale.stock, stale.reserved = Decimal("1.50"), 50, 0

    variant_save(variant=stale, fields=["price_amount", "stock", "reserved"], by=staff_user)

    variant.refresh_from_db()
    assert (variant.price_amount, variant.stock, variant.reserved) == (Decimal("1.50"), 7, 2)
    variant.product.refresh_from_db()
    assert variant.product.price_amount == Decimal("1.50")  # summary refreshed
    with pytest.raises(ValueError):
        variant_save(variant=stale, fields=[], by=staff_user, initial_stock=3)


def test_variant_save_refuses_another_merchants_product(merchant, staff_user):
    theirs = ProductFactory(merchant=MerchantFactory(), variants__price_amount=Decimal("8.00"))
    ours = ProductFactory(merchant=merchant)
    variant = theirs.variants.get()

    new = Variant(product=theirs, sku="X-1", name="X", price_amount=Decimal("1.00"))
    variant.price_amount = Decimal("0.50")
    moved = Variant.objects.get(pk=variant.pk)
    moved.product = ours  # taking their variant into our product
    for attempt in (new, variant, moved):
        with pytest.raises(MerchantNotAllowed):
            variant_save(variant=attempt, fields=["product", "price_amount"], by=staff_user)

    assert not Variant.objects.filter(sku="X-1").exists()
    stored = Variant.objects.get(pk=variant.pk)
    assert (stored.product_id, stored.price_amount) == (theirs.pk, Decimal("8.00"))
