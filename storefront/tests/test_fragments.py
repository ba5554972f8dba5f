"""What is the same for everyone (product cards, API items, a page's content) is cached by
version: served from the cache to a logged-in shopper and to page-cache misses, and never
stale after a change to what it shows. `auth_client` (a JWT) bypasses the page cache and is
anonymous to the HTML views: a page-cache miss."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Product, Variant
from catalog.services import RatingFigures, product_ratings_write, product_summary_refresh
from catalog.stock import variant_stock_adjust
from catalog.tests.factories import ProductFactory
from shop.core.pagecache import reset_local_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return ProductFactory(name="Walnut Desk", variants__price_amount=Decimal("120.00"))


def _list(client) -> str:
    response = client.get(reverse("catalog:product_list"))
    assert response.status_code == 200
    return response.content.decode()


def test_a_card_is_served_from_the_fragment_cache(auth_client, product):
    assert "Walnut Desk" in _list(auth_client)
    # Behind the cache's back (no signal, no version bump): the cached card still shows.
    Product.objects.filter(pk=product.pk).update(name="Oak Desk")
    reset_local_version()
    html = _list(auth_client)
    assert "Walnut Desk" in html
    assert "Oak Desk" not in html


def test_a_card_follows_a_new_price(auth_client, product, django_capture_on_commit_callbacks):
    assert "USD 120.00" in _list(auth_client)
    with django_capture_on_commit_callbacks(execute=True):
        Variant.objects.filter(product=product).update(price_amount=Decimal("99.50"))
        product_summary_refresh(product_ids=[product.pk])
    html = _list(auth_client)
    assert "USD 99.50" in html
    assert "USD 120.00" not in html


def test_a_card_follows_its_stock_crossing_zero(
    auth_client, product, django_capture_on_commit_callbacks
):
    assert "In stock" in _list(auth_client)
    variant = product.variants.get()
    with django_capture_on_commit_callbacks(execute=True):
        variant_stock_adjust(
            variant_id=variant.pk, delta=-variant.stock, reason="adjustment", by=None
        )
    assert "Out of stock" in _list(auth_client)


def test_a_card_follows_its_rating(auth_client, product, django_capture_on_commit_callbacks):
    assert "No ratings yet" in _list(auth_client)
    figures = RatingFigures(
        count=3, average=Decimal("4.00"), score=Decimal("3.2500"), histogram={"4": 3}
    )
    with django_capture_on_commit_callbacks(execute=True):
        product_ratings_write(product_ids=[product.pk], figures={product.pk: figures})
    assert "(3 ratings)" in _list(auth_client)


def test_a_card_follows_a_rename_through_the_signal(
    auth_client, product, django_capture_on_commit_callbacks
):
    assert "Walnut Desk" in _list(auth_client)
    with django_capture_on_commit_callbacks(execute=True):
        product.name = "Oak Desk"
        product.save()
    assert "Oak Desk" in _list(auth_client)


def test_an_anonymous_miss_uses_the_same_cards(client, auth_client, product):
    """A URL the page cache does not hold (an unknown parameter) still gets cached cards."""
    assert "Walnut Desk" in _list(auth_client)
    Product.objects.filter(pk=product.pk).update(name="Oak Desk")
    reset_local_version()
    response = client.get(reverse("catalog:product_list"), {"utm_source": "mail"})
    assert "Walnut Desk" in response.content.decode()


# --- The products API: each product's representation cached per version -----------------


def test_api_list_items_are_cached_per_card_version(
    auth_client, product, django_capture_on_commit_callbacks
):
    url = reverse("api-product-list")
    assert auth_client.get(url).json()["results"][0]["name"] == "Walnut Desk"
    Product.objects.filter(pk=product.pk).update(name="Oak Desk")  # no bump: cached
    reset_local_version()
    assert auth_client.get(url).json()["results"][0]["name"] == "Walnut Desk"
    with django_capture_on_commit_callbacks(execute=True):
        Variant.objects.filter(product=product).update(price_amount=Decimal("99.50"))
        product_summary_refresh(product_ids=[product.pk])
    item = auth_client.get(url).json()["results"][0]
    assert (item["name"], item["price"]) == ("Oak Desk", "99.50")


def test_api_detail_is_cached_per_product_version(
    auth_client, product, django_capture_on_commit_callbacks, django_assert_num_queries
):
    url = reverse("api-product-detail", kwargs={"pk": product.pk})
    assert auth_client.get(url).json()["variants"][0]["in_stock"] is True
    reset_local_version()
    with django_assert_num_queries(1):  # the user (session from Redis): the product is cached
        assert auth_client.get(url).json()["name"] == "Walnut Desk"
    variant = product.variants.get()
    with django_capture_on_commit_callbacks(execute=True):
        variant_stock_adjust(
            variant_id=variant.pk, delta=-variant.stock, reason="adjustment", by=None
        )
    answer = auth_client.get(url).json()
    assert (answer["in_stock"], answer["variants"][0]["stock_available"]) == (False, 0)
    with django_capture_on_commit_callbacks(execute=True):
        product.is_active = False
        product.save()
    assert auth_client.get(url).status_code == 404


def test_api_detail_of_no_product_leaves_no_version_behind(client):
    from django.core.cache import cache

    url = reverse("api-product-detail", kwargs={"pk": 987654321})
    assert client.get(url).status_code == 404
    assert cache.get("pagecache:v:product:987654321") is None


# --- Page content the same for everyone, framed per request ------------------------------


def test_logged_in_product_page_content_is_cached_and_follows_changes(
    client, product, django_capture_on_commit_callbacks
):
    from accounts.tests.factories import UserFactory

    client.force_login(UserFactory())
    url = product.get_absolute_url()
    assert "Walnut Desk" in client.get(url).content.decode()
    Product.objects.filter(pk=product.pk).update(description="Behind the cache's back")
    reset_local_version()
    assert "Behind the cache" not in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Variant.objects.filter(product=product).update(price_amount=Decimal("99.50"))
        product_summary_refresh(product_ids=[product.pk])
    html = client.get(url).content.decode()
    assert "USD 99.50" in html and "USD 120.00" not in html
    with django_capture_on_commit_callbacks(execute=True):
        product.is_active = False
        product.save()
    assert client.get(url).status_code == 404


def test_cached_product_content_gets_each_visitors_own_form_and_token(client, product):
    from django.test import Client

    from accounts.tests.factories import UserFactory
    from reviews.tests.factories import buy
    from shop.core.pagecache import CSRF_PLACEHOLDER

    buyer, other = UserFactory(), UserFactory()
    buy(user=buyer, product=product)
    url = product.get_absolute_url()
    pages = {}
    for name, user in (("other", other), ("buyer", buyer)):
        visitor = Client()
        visitor.force_login(user)
        response = visitor.get(url)
        html = response.content.decode()
        assert CSRF_PLACEHOLDER not in html
        tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
        assert tokens and all(len(token) == 64 for token in tokens)
        pages[name] = html
    assert "Only buyers can review" in pages["other"] and 'name="rating"' not in pages["other"]
    assert "Write a review" in pages["buyer"] and 'name="rating"' in pages["buyer"]
    anonymous = Client().get(url).content.decode()
    assert "Log in to review" in anonymous and CSRF_PLACEHOLDER not in anonymous


def test_logged_in_list_content_is_cached_and_follows_a_new_card(
    client, user, product, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client.force_login(user)
    _list(client)
    with django_assert_num_queries(2):  # the user and the cart count: the list is cached
        assert "Walnut Desk" in _list(client)
    with django_capture_on_commit_callbacks(execute=True):
        product.name = "Oak Desk"
        product.save()
    html = _list(client)
    assert "Oak Desk" in html and "Walnut Desk" not in html


# --- A list's count, cached per filter while the lists it depends on are unchanged ------


def _count(client, **query) -> int:
    html = client.get(reverse("catalog:product_list"), {"utm_source": "x", **query})
    found = re.search(r'results-bar__count">(\d+) product', html.content.decode())
    assert found
    return int(found.group(1))


def test_list_count_is_cached_and_follows_added_products_and_stock(
    auth_client, product, django_capture_on_commit_callbacks
):
    ProductFactory()
    assert _count(auth_client) == 2
    Product.objects.filter(pk=product.pk).update(is_active=False)  # no bump: cached
    reset_local_version()
    assert _count(auth_client) == 2
    with django_capture_on_commit_callbacks(execute=True):
        ProductFactory()  # a product saved bumps `lists`
    assert _count(auth_client) == 2  # 3 products, 1 inactive
    assert _count(auth_client, in_stock="on") == 2
    variant = Product.objects.exclude(pk=product.pk).first().variants.get()
    with django_capture_on_commit_callbacks(execute=True):
        variant_stock_adjust(
            variant_id=variant.pk, delta=-variant.stock, reason="adjustment", by=None
        )
    assert _count(auth_client, in_stock="on") == 1
    assert _count(auth_client) == 2


def test_api_count_follows_added_products(auth_client, product, django_capture_on_commit_callbacks):
    url = reverse("api-product-list")
    assert auth_client.get(url).json()["count"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        ProductFactory()
    assert auth_client.get(url).json()["count"] == 2
