"""The product page and the product list for a logged-in shopper on a fully cold cache
(category tree, fragments, versions, page content and the sessions' cache all cold): within
the budget of 8 queries whatever the number of variants, reviews and recommendations."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog.models import ProductImage
from catalog.tests.factories import ProductAttributeFactory, ProductFactory
from reviews.models import BoughtTogether
from reviews.tests.factories import ReviewFactory
from shop.core.pagecache import reset_local_version
from shop.core.testing import caches_clear_owned

pytestmark = pytest.mark.django_db


def _cold() -> None:
    caches_clear_owned()
    reset_local_version()


def _shopper() -> Client:
    client = Client()
    client.force_login(UserFactory())
    return client


@pytest.mark.parametrize("many", [1, 12])
def test_logged_in_product_page_on_a_cold_cache(many, django_assert_num_queries):
    product = ProductFactory(variants=many)
    for position in range(many):
        ProductImage.objects.create(product=product, image=f"p/{position}.jpg", position=position)
        ProductAttributeFactory(product=product)
    ReviewFactory.create_batch(many, product=product)
    for _ in range(many):
        other = ProductFactory(category=product.category)
        ProductImage.objects.create(product=other, image="p/o.jpg")
        BoughtTogether.objects.create(product=product, other=other, orders=1)
    client = _shopper()
    client.get(product.get_absolute_url())  # remembered as viewed: no session write below
    _cold()
    # The product (variants, images, attributes folded in), the category tree, a page of
    # reviews, the recommended cards (images folded in), the session, the user, whether they
    # may review with the cart count (one query).
    with django_assert_num_queries(7):
        response = client.get(product.get_absolute_url())
    html = response.content.decode()
    assert html.count('name="variant"') == many
    assert html.count('class="review') >= min(many, 10)


def test_logged_in_product_list_on_a_cold_cache(django_assert_num_queries):
    for _ in range(30):
        ProductImage.objects.create(product=ProductFactory(), image="p/x.jpg")
    client = _shopper()
    _cold()
    # The category tree, the count, the page (the cards' images folded in), the facets, the
    # merchant choices, the session, the user, the cart count.
    with django_assert_num_queries(8):
        assert client.get(reverse("catalog:product_list")).status_code == 200


def test_the_product_page_shows_each_shoppers_own_cart_count():
    product = ProductFactory(variants=1)
    variant = product.variants.get()
    shoppers = []
    for quantity in (3, 0):
        user = UserFactory()
        if quantity:
            cart_add_item(user=user, variant_id=variant.pk, quantity=quantity)
        client = Client()
        client.force_login(user)
        shoppers.append((client, quantity))
    for client, quantity in shoppers:  # the second is served the content cached by the first
        if quantity:
            _cold()
        html = client.get(product.get_absolute_url()).content.decode()
        assert f"Cart ({quantity})" in html
