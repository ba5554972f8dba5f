"""The anonymous page cache on the real pages and API (issue 9, items 11 and 13).

11: only canonical URLs are stored, so no query string fills Redis.
13: a sale or a review makes stale the pages of its product and the lists that show it
    (or are sorted or filtered by what changed), not the whole cache.

Writes go through the services a shopper's actions call, their commit callbacks run, so
the invalidation is the real one. A page is asked for twice: "miss, hit" means stored.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from accounts.tests.factories import UserFactory
from catalog.models import Variant
from catalog.services import product_summary_refresh
from catalog.tests.factories import CategoryFactory, ProductFactory
from orders.tests.factories import place_order
from payments.services.cancel import order_cancel
from reviews.recommendations import recommendations_compute
from reviews.services import product_rating_recompute, review_create
from reviews.tests.factories import buy

pytestmark = pytest.mark.django_db

NOW = 1_800_000_000  # a time to travel to (seconds since the epoch)


@pytest.fixture(autouse=True)
def _every_request_reads_the_versions(settings):
    settings.CATALOG_VERSION_TTL = 0


def cache_state(url: str) -> str | None:
    return Client().get(url).get("X-Page-Cache")


def twice(url: str) -> list[str | None]:
    return [cache_state(url) for _ in range(2)]


def stored_pages() -> int:
    client = cache._cache.get_client(write=True)
    return sum(1 for _ in client.scan_iter(match=f"{cache.key_prefix}:*:page:*", count=1000))


# --- Item 11: only canonical URLs are stored ------------------------------------------


@pytest.fixture
def shop():
    category = CategoryFactory(name="Kitchen")
    products = [ProductFactory(category=category, name=f"Kettle {n}") for n in range(3)]
    return category, products


def test_junk_query_strings_on_every_cached_page_are_served_but_never_stored(shop):
    category, products = shop
    pages = [
        "/",
        "/products/",
        category.get_absolute_url(),
        "/search/?q=kettle",
        products[0].get_absolute_url(),
        "/api/v1/products/",
        f"/api/v1/products/{products[0].pk}/",
        "/api/v1/categories/",
        f"/api/v1/products/{products[0].pk}/reviews/",
        f"/api/v1/products/{products[0].pk}/recommendations/",
    ]
    before = stored_pages()
    for page in pages:
        separator = "&" if "?" in page else "?"
        for _ in range(3):
            response = Client().get(f"{page}{separator}junk={uuid.uuid4().hex}")
            assert response.status_code == 200, page
            assert "X-Page-Cache" not in response, page
    assert stored_pages() == before


@pytest.mark.parametrize(
    "url",
    [
        "/products/?page=999",  # shown as the last page
        "/products/?page=01",
        "/products/?page=1&page=2",
        "/products/?ordering=cheapest",
        "/products/?category=no-such-category",
        "/products/?merchant=987654321",  # well formed, no such merchant (a form error)
        "/products/?min_price=1e3",
        "/products/?in_stock=yes",
        "/search/?q=%20kettle%20",
        "/c/kitchen/?category=kitchen",  # the category page has no category filter
        "/api/v1/products/?page_size=1000",  # capped at 100: the same answer as 100
        "/api/v1/products/?in_stock=on",  # a 400 for the API
        "/api/v1/products/?format=json",
    ],
)
def test_non_canonical_urls_are_not_stored(shop, url):
    assert Client().get(url).status_code < 500
    assert stored_pages() == 0
    assert twice(url) != ["miss", "hit"]
    assert stored_pages() == 0


def test_a_reviews_page_past_the_end_of_a_product_page_is_not_stored(shop):
    _, products = shop
    url = products[0].get_absolute_url()
    assert twice(f"{url}?reviews_page=5") == [None, None]  # shown as the last page
    assert twice(f"{url}?reviews_page=99999999999") == [None, None]  # not a page number
    assert twice(f"{url}?reviews_page=1") == ["miss", "hit"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/products/?ordering=price&page=1", "/products/?page=1&ordering=price"),
        (
            "/products/?q=&ordering=-created&category=&min_price=&max_price=&merchant=",
            "/products/?merchant=&max_price=&min_price=&category=&ordering=-created&q=",
        ),
        (
            "/api/v1/products/?ordering=-price&page_size=2",
            "/api/v1/products/?page_size=2&ordering=-price",
        ),
    ],
)
def test_canonical_urls_are_stored_whatever_the_order_of_their_parameters(shop, first, second):
    assert cache_state(first) == "miss"
    assert cache_state(second) == "hit"


def test_api_pages_of_another_size_are_stored_within_the_open_budget(shop, settings):
    settings.PAGE_CACHE_OPEN_ENTRIES = 1
    assert twice("/api/v1/products/?page_size=2") == ["miss", "hit"]
    assert twice("/api/v1/products/?page_size=3") == ["miss", "miss"]  # over budget
    assert twice("/api/v1/products/?page=1") == ["miss", "hit"]  # the default size: named


def test_a_page_past_the_end_of_the_api_is_a_404_and_not_stored(shop):
    assert Client().get("/api/v1/products/?page=50").status_code == 404
    assert stored_pages() == 0


# --- Item 13: a sale or a review makes stale what shows it, not everything -------------


@pytest.fixture
def two_aisles():
    """A last-unit kettle in one category, a mug with stock in another."""
    kitchen, garden = CategoryFactory(name="Kitchen"), CategoryFactory(name="Garden")
    kettle = ProductFactory(category=kitchen, name="Last Kettle", variants__stock=1)
    mug = ProductFactory(category=garden, name="Garden Mug", variants__stock=50)
    return kitchen, garden, kettle, mug


def test_reserving_and_releasing_the_last_unit_makes_only_its_pages_stale(
    two_aisles, django_capture_on_commit_callbacks
):
    kitchen, garden, kettle, mug = two_aisles
    kettle_pages = [
        kettle.get_absolute_url(),
        kitchen.get_absolute_url(),
        "/products/",
        f"/api/v1/products/{kettle.pk}/",
        "/products/?in_stock=on",
    ]
    other_pages = [
        mug.get_absolute_url(),
        garden.get_absolute_url(),
        f"/api/v1/products/{mug.pk}/",
        f"/api/v1/products/{mug.pk}/reviews/",
        "/api/v1/categories/",
    ]
    with time_machine.travel(NOW, tick=True) as traveller:
        for url in kettle_pages + other_pages:
            assert twice(url) == ["miss", "hit"], url
        traveller.shift(10)

        with django_capture_on_commit_callbacks(execute=True):
            order = place_order(user=UserFactory(), items=[(kettle.variants.get(), 1)])
        page = Client().get(kettle.get_absolute_url())
        assert page["X-Page-Cache"] == "miss"
        assert "Out of stock" in page.content.decode()
        for url in kettle_pages[1:]:
            assert cache_state(url) == "miss", url
        for url in other_pages:
            assert cache_state(url) == "hit", url

        traveller.shift(10)
        for url in kettle_pages:
            Client().get(url)  # stored again (a moment after the change)
            assert cache_state(url) == "hit", url
        with django_capture_on_commit_callbacks(execute=True):
            order_cancel(order_id=order.pk)
        page = Client().get(kettle.get_absolute_url())
        assert page["X-Page-Cache"] == "miss"
        assert "Out of stock" not in page.content.decode()
        for url in kettle_pages[1:]:
            assert cache_state(url) == "miss", url
        for url in other_pages:
            assert cache_state(url) == "hit", url


def test_a_sale_that_leaves_stock_changes_no_cached_page(
    two_aisles, django_capture_on_commit_callbacks
):
    _, garden, _, mug = two_aisles
    pages = [mug.get_absolute_url(), garden.get_absolute_url(), "/products/?in_stock=on"]
    with time_machine.travel(NOW, tick=True) as traveller:
        for url in pages:
            assert twice(url) == ["miss", "hit"], url
        traveller.shift(10)
        with django_capture_on_commit_callbacks(execute=True):
            place_order(user=UserFactory(), items=[(mug.variants.get(), 3)])
        for url in pages:
            assert cache_state(url) == "hit", url


def test_a_review_makes_stale_its_products_pages_and_lists_by_rating(
    two_aisles, django_capture_on_commit_callbacks
):
    _, garden, kettle, mug = two_aisles
    buyer = UserFactory()
    buy(user=buyer, product=kettle)
    by_rating = "/products/?ordering=-rating"
    untouched = [mug.get_absolute_url(), garden.get_absolute_url(), "/api/v1/categories/"]
    with time_machine.travel(NOW, tick=True) as traveller:
        for url in [kettle.get_absolute_url(), by_rating, *untouched]:
            assert twice(url) == ["miss", "hit"], url
        traveller.shift(10)

        with django_capture_on_commit_callbacks(execute=True):
            review_create(user=buyer, product=kettle, rating=5, title="Boils fast")
        assert cache_state(kettle.get_absolute_url()) == "miss"  # its review list
        for url in untouched:
            assert cache_state(url) == "hit", url

        traveller.shift(10)
        for url in (kettle.get_absolute_url(), by_rating):
            Client().get(url)
            assert cache_state(url) == "hit", url
        with django_capture_on_commit_callbacks(execute=True):
            product_rating_recompute(product_ids=[kettle.pk])  # what the coalesced task runs
        page = Client().get(kettle.get_absolute_url())
        assert page["X-Page-Cache"] == "miss"
        assert "Rated 5.0 out of 5" in page.content.decode()  # the new figures
        assert cache_state(by_rating) == "miss"
        for url in untouched:
            assert cache_state(url) == "hit", url


def test_a_list_sorted_by_what_changed_goes_stale_even_without_the_product(
    django_capture_on_commit_callbacks,
):
    """Which products a sorted list holds can change with a product it does not show."""
    kitchen = CategoryFactory(name="Kitchen")
    latecomer = ProductFactory(
        category=kitchen, name="Bargain Pot", variants__price_amount=Decimal("90.00")
    )
    for n in range(30):
        ProductFactory(
            category=kitchen, name=f"Pot {n:02}", variants__price_amount=Decimal("50.00")
        )
    by_price = f"{kitchen.get_absolute_url()}?ordering=price"
    by_rating = f"{kitchen.get_absolute_url()}?ordering=-rating"
    newest = kitchen.get_absolute_url()  # -created: the latecomer is the oldest, on page 2
    with time_machine.travel(NOW, tick=True) as traveller:
        for url in (by_price, by_rating, newest):
            assert twice(url) == ["miss", "hit"], url
            assert "Bargain Pot" not in Client().get(url).content.decode()
        traveller.shift(10)

        with django_capture_on_commit_callbacks(execute=True):
            Variant.objects.filter(product=latecomer).update(price_amount=Decimal("5.00"))
            product_summary_refresh(product_ids=[latecomer.pk])
        response = Client().get(by_price)
        assert response["X-Page-Cache"] == "miss"
        assert "Bargain Pot" in response.content.decode()
        assert cache_state(by_rating) == "hit"
        assert cache_state(newest) == "hit"

        buyer = UserFactory()
        buy(user=buyer, product=latecomer)
        with django_capture_on_commit_callbacks(execute=True):
            review_create(user=buyer, product=latecomer, rating=5, title="A bargain")
            product_rating_recompute(product_ids=[latecomer.pk])
        response = Client().get(by_rating)
        assert response["X-Page-Cache"] == "miss"
        assert "Bargain Pot" in response.content.decode()
        assert cache_state(newest) == "hit"


def test_a_product_back_in_stock_makes_stale_the_recommendations_of_its_category(
    two_aisles, django_capture_on_commit_callbacks
):
    """A product page recommends the best-rated of its category that are in stock: one
    coming back in stock may join them, though no cached page showed its card."""
    kitchen, _, kettle, mug = two_aisles
    teapot = ProductFactory(category=kitchen, name="Teapot")
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(user=UserFactory(), items=[(kettle.variants.get(), 1)])
    with time_machine.travel(NOW, tick=True) as traveller:
        for url in (teapot.get_absolute_url(), mug.get_absolute_url()):
            assert twice(url) == ["miss", "hit"], url
        assert "Last Kettle" not in Client().get(teapot.get_absolute_url()).content.decode()
        traveller.shift(10)

        with django_capture_on_commit_callbacks(execute=True):
            order_cancel(order_id=order.pk)
        page = Client().get(teapot.get_absolute_url())
        assert page["X-Page-Cache"] == "miss"
        assert "Last Kettle" in page.content.decode()  # recommended again
        assert cache_state(mug.get_absolute_url()) == "hit"  # another category


def test_new_bought_together_figures_make_product_pages_stale(
    two_aisles, django_capture_on_commit_callbacks
):
    *_, mug = two_aisles
    with time_machine.travel(NOW, tick=True) as traveller:
        assert twice(mug.get_absolute_url()) == ["miss", "hit"]
        assert twice(f"/api/v1/products/{mug.pk}/recommendations/") == ["miss", "hit"]
        traveller.shift(10)
        with django_capture_on_commit_callbacks(execute=True):
            recommendations_compute()
        assert cache_state(mug.get_absolute_url()) == "miss"
        assert cache_state(f"/api/v1/products/{mug.pk}/recommendations/") == "miss"
