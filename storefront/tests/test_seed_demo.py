"""`manage.py seed_demo`: a consistent demo shop, repeatable and re-runnable."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse

from catalog.models import Category, Merchant, Product, ProductImage, Variant
from catalog.services import MERCHANTS_GROUP, product_summary_refresh

pytestmark = pytest.mark.django_db

PASSWORD = "demo-pass-123"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # As `make run` seeds: with DEBUG on (pytest-django turns it off for every test).
    settings.DEBUG = True


def _seed(**options):
    call_command("seed_demo", verbosity=0, **{"products": 30, "seed": 7, **options})


def _catalog_snapshot():
    return list(
        Product.objects.order_by("slug").values_list("name", "slug", "price_amount", "in_stock")
    )


def test_creates_the_demo_users_with_a_working_password():
    _seed()

    users = {u.email: u for u in get_user_model().objects.all()}
    admin, merchant, shopper = (
        users[f"{name}@example.com"] for name in ("admin", "merchant", "shopper")
    )
    assert all(u.check_password(PASSWORD) for u in (admin, merchant, shopper))
    assert admin.is_superuser and admin.is_staff
    assert merchant.is_staff and not merchant.is_superuser
    assert merchant.groups.filter(name=MERCHANTS_GROUP).exists()
    assert merchant.merchants.count() == 1
    assert not shopper.is_staff


def test_without_debug_demo_users_get_random_passwords_and_keep_changed_ones(settings):
    # A deployed copy (DEBUG off): a documented password there is anyone's admin account.
    settings.DEBUG = False
    User = get_user_model()
    admin = User.objects.create_superuser(email="admin@example.com", password="their-own-1")
    out = StringIO()

    call_command("seed_demo", products=1, seed=7, verbosity=0, stdout=out)

    users = {u.email: u for u in User.objects.all()}
    assert not any(u.check_password(PASSWORD) for u in users.values())
    admin.refresh_from_db()
    assert admin.check_password("their-own-1")  # never reset to a known one
    printed = dict(re.findall(r"Created (\S+) with password (\S+)", out.getvalue()))
    assert set(printed) == {"merchant@example.com", "shopper@example.com"}
    for email, password in printed.items():
        assert len(password) >= 16
        assert users[email].check_password(password)


def test_catalog_is_consistent():
    _seed()

    assert Product.objects.count() == 30
    assert Category.objects.filter(parent=None).count() == 6
    assert Category.objects.exclude(parent=None).count() > 6
    assert Merchant.objects.count() == 5
    # Every product sits in a child category and has one to three variants.
    assert not Product.objects.filter(category__parent=None).exists()
    counts = Product.objects.annotate(n=Count("variants")).values_list("n", flat=True)
    assert set(counts) <= {1, 2, 3}
    skus = list(Variant.objects.values_list("sku", flat=True))
    assert len(skus) == len(set(skus))
    # The summary written by the seeder is exactly what the service computes.
    assert product_summary_refresh(product_ids=Product.objects.values_list("pk", flat=True)) == 0
    assert Product.objects.filter(in_stock=False).exists()
    assert Product.objects.filter(in_stock=True).exists()


def test_images_share_a_dozen_files_with_thumbnails(tmp_path):
    _seed(products=60)

    names = set(ProductImage.objects.values_list("image", "thumbnail"))
    assert ProductImage.objects.count() > len(names)
    assert len(names) <= 12
    for image, thumbnail in names:
        assert (tmp_path / image).is_file()
        assert (tmp_path / thumbnail).is_file()


def test_product_names_are_searchable_words():
    _seed()

    product = Product.objects.first()
    assert len(product.name.split()) >= 2
    assert Product.objects.search(product.name.split()[-1]).filter(pk=product.pk).exists()


def test_running_twice_adds_products_and_reuses_the_rest():
    _seed()
    _seed(products=5)

    assert Product.objects.count() == 35
    assert Merchant.objects.count() == 5
    assert get_user_model().objects.filter(email__endswith="@example.com").count() == 3
    skus = list(Variant.objects.values_list("sku", flat=True))
    assert len(skus) == len(set(skus))


def test_same_seed_same_shop_after_reset():
    _seed()
    first = _catalog_snapshot()

    _seed(reset=True)

    assert _catalog_snapshot() == first
    assert Product.objects.count() == 30


def test_seeded_merchant_staff_manages_only_their_merchants_products(client):
    _seed()
    merchant_user = get_user_model().objects.get(email="merchant@example.com")
    own = Product.objects.filter(merchant__staff=merchant_user)
    assert 0 < own.count() < Product.objects.count()

    assert client.login(email="merchant@example.com", password=PASSWORD)
    response = client.get(reverse("admin:catalog_product_changelist"), {"all": ""})

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == set(own)


@pytest.mark.django_db
def test_seeded_shipping_methods_together_ship_to_every_country():
    from shipping.models import ShippingMethod
    from shop.core.countries import COUNTRY_CODES

    call_command("seed_demo", products=0, verbosity=0)

    for country in COUNTRY_CODES:
        assert ShippingMethod.objects.active().for_country(country).exists(), country


def test_the_demo_shopper_has_an_order_in_every_state_of_the_trade():
    from fulfilment.models import Return, Shipment
    from orders.models import Order
    from orders.selectors import stock_drift

    _seed(products=150)
    shopper = get_user_model().objects.get(email="shopper@example.com")
    statuses = sorted(Order.objects.filter(user=shopper).values_list("status", flat=True))
    # The last delivered order came back whole: refunded, shipping and all.
    assert statuses == sorted(
        [
            "pending_payment",
            "paid",
            "partially_shipped",
            "shipped",
            "shipped",
            "delivered",
            "delivered",
            "refunded",
        ]
    )
    shipments = set(Shipment.objects.values_list("status", flat=True))
    assert {"shipped", "in_transit", "exception", "delivered"} <= shipments
    assert sorted(Return.objects.values_list("status", flat=True)) == ["refunded", "requested"]
    assert stock_drift() == []
    # Seeding again adds no second set.
    _seed(products=150)
    assert Order.objects.filter(user=shopper).count() == 8
