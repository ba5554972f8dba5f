"""One shop currency and positive prices (issue 9, item 2): the database refuses the rest,
and the admin neither offers a currency nor takes a price of 0."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.models import Product, Variant
from catalog.tests.factories import CategoryFactory, MerchantFactory, ProductFactory, VariantFactory
from catalog.tests.test_admin import _product_post
from shipping.models import ShippingMethod
from shipping.tests.factories import ShippingMethodFactory

pytestmark = pytest.mark.django_db


def _refused(make) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


@pytest.mark.parametrize("price", ["0.00", "-1.00"])
def test_the_database_refuses_a_variant_price_that_is_not_positive(price):
    _refused(lambda: VariantFactory(price_amount=Decimal(price)))


@pytest.mark.parametrize("currency", ["EUR", "JPY", "usd"])
def test_the_database_refuses_a_variant_in_another_currency(currency):
    _refused(lambda: VariantFactory(currency=currency))


def test_an_existing_variant_cannot_be_relabelled_or_made_free():
    variant = VariantFactory()
    _refused(lambda: Variant.objects.filter(pk=variant.pk).update(currency="JPY"))
    _refused(lambda: Variant.objects.filter(pk=variant.pk).update(price_amount=0))


def test_the_database_refuses_a_product_in_another_currency():
    _refused(lambda: ProductFactory(currency="EUR"))


def test_shipping_may_be_free_but_only_in_the_shop_currency():
    assert ShippingMethodFactory(price_amount=Decimal("0.00")).currency == "USD"
    _refused(lambda: ShippingMethodFactory(currency="EUR"))


def test_the_shop_row_cannot_change_under_existing_prices():
    """Changing the shop currency is a conversion of every price, never a relabelling."""
    from shop.core.models import Shop

    VariantFactory()
    _refused(lambda: Shop.objects.filter(pk=1).update(currency="JPY"))


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_admin_offers_no_currency_and_ignores_a_posted_one(superuser_client):
    """The audit: a merchant set a variant's currency to JPY and it sold as USD."""
    data = _product_post(merchant=MerchantFactory(), category=CategoryFactory())
    data["currency"] = "JPY"
    data["variants-0-currency"] = "JPY"

    response = superuser_client.post(reverse("admin:catalog_product_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Product.objects.get().currency == "USD"
    assert Variant.objects.get().currency == "USD"
    form = superuser_client.get(reverse("admin:catalog_variant_add")).content.decode()
    assert 'name="currency"' not in form


@pytest.mark.parametrize("price", ["0", "0.00", "-5"])
def test_a_price_below_one_cent_is_a_form_error_in_the_product_admin(superuser_client, price):
    data = _product_post(
        merchant=MerchantFactory(),
        category=CategoryFactory(),
        variants=[{"sku": "FREE-1", "name": "Free", "price_amount": price, "stock": "1"}],
    )

    response = superuser_client.post(reverse("admin:catalog_product_add"), data)

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert any("price_amount" in form_errors for form_errors in errors)
    assert not Variant.objects.exists()


def test_a_price_of_0_is_refused_in_the_variant_changelist_too(superuser_client):
    variant = VariantFactory(price_amount=Decimal("5.00"))

    def post(price):
        data = {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(variant.pk),
            "form-0-price_amount": price,
            "form-0-is_active": "on",
            "_save": "Save",
        }
        response = superuser_client.post(reverse("admin:catalog_variant_changelist"), data)
        variant.refresh_from_db()
        return response.status_code, variant.price_amount

    assert post("6.00") == (302, Decimal("6.00"))
    assert post("0.00") == (200, Decimal("6.00"))


def test_the_shipping_admin_offers_no_currency(superuser_client):
    response = superuser_client.post(
        reverse("admin:shipping_shippingmethod_add"),
        {
            "name": "Japan Post",
            "price_amount": "5000",
            "currency": "JPY",
            "countries": "JP",
            "estimated_days": "7",
            "is_active": "on",
            "position": "0",
        },
    )
    assert response.status_code == 302
    assert ShippingMethod.objects.get().currency == "USD"
