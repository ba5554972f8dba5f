"""Catalog services used by the admin and the demo seeder."""

from decimal import Decimal
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.tests.factories import UserFactory
from catalog.models import Product, ProductImage, Variant
from catalog.services import (
    MERCHANTS_GROUP,
    merchant_staff_set,
    product_image_make_thumbnail,
    product_summary_refresh,
    thumbnail_jpeg,
)
from catalog.tests.factories import MerchantFactory, ProductFactory, VariantFactory

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

    product_image_make_thumbnail(image=image)

    stored = ProductImage.objects.get(pk=image.pk)
    assert stored.thumbnail.name.endswith("lamp-thumb.jpg")
    assert (tmp_path / stored.thumbnail.name).is_file()


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
