""" "Buyable" has one definition (issue 9, item 3): a variant is buyable when it, its product
and the product's merchant are active. The queryset filter, the locked row that checkout
reads and the cart's loaded line all say the same for every combination."""

import itertools

import pytest
from django.db import transaction

from cart.selectors import CartItem
from catalog.models import Product, Variant
from catalog.stock import variants_lock
from catalog.tests.factories import MerchantFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

COMBINATIONS = list(itertools.product([True, False], repeat=3))


@pytest.mark.parametrize(("variant_active", "product_active", "merchant_active"), COMBINATIONS)
def test_every_definition_of_buyable_agrees(variant_active, product_active, merchant_active):
    merchant = MerchantFactory(is_active=merchant_active)
    product = ProductFactory(merchant=merchant, is_active=product_active, variants=0)
    variant = VariantFactory(product=product, is_active=variant_active)
    expected = variant_active and product_active and merchant_active

    assert Variant.objects.buyable().filter(pk=variant.pk).exists() is expected
    with transaction.atomic():
        assert variants_lock(variant_ids=[variant.pk])[variant.pk].buyable is expected
    loaded = Variant.objects.select_related("product__merchant").get(pk=variant.pk)
    assert CartItem(id=1, variant=loaded, quantity=1).buyable is expected
    # What the catalog lists is the product half of the same rule.
    assert Product.objects.active().filter(pk=product.pk).exists() is (
        product_active and merchant_active
    )
