"""Product search: ranking, typo tolerance and whether PostgreSQL can use the GIN indexes."""

import pytest
from django.db import connection
from django.http import QueryDict

from catalog.filters import ProductFilter
from catalog.models import Product
from catalog.selectors import product_list
from catalog.tests.factories import CategoryFactory, MerchantFactory, ProductFactory

pytestmark = pytest.mark.django_db


def search(text: str, **params) -> list[str]:
    """Names in the order the storefront and the API list them for `?q=text`."""
    data = QueryDict(mutable=True)
    data.update({"q": text, **params})
    return [p.name for p in ProductFilter(data, queryset=product_list()).qs]


def test_a_name_match_outranks_a_description_only_match():
    ProductFactory(name="Travel Mug", description="Fits beside your headphones in any bag.")
    ProductFactory(name="Studio Headphones", description="Closed back, for mixing.")
    ProductFactory(name="Garden Hose", description="Twenty metres of hose.")

    assert search("headphones") == ["Studio Headphones", "Travel Mug"]


def test_a_name_match_outranks_a_description_stuffed_with_the_word():
    ProductFactory(name="Cable Tidy", description="headphones " * 20)
    ProductFactory(name="Wireless Headphones", description="Over-ear.")

    assert search("headphones")[0] == "Wireless Headphones"


@pytest.mark.parametrize("typo", ["hedphones", "headphnes", "wireles", "Wireless Hedphones"])
def test_one_typo_still_finds_the_product(typo):
    ProductFactory(name="Wireless Headphones", description="Over-ear, foldable.")
    ProductFactory(name="Garden Hose", description="Twenty metres.")

    assert search(typo) == ["Wireless Headphones"]


@pytest.mark.parametrize("typo", ["kettel", "ketle", "electirc kettle"])
def test_swapped_or_missing_letters_still_find_the_product(typo):
    ProductFactory(name="Electric Kettle", description="1.7 litres.")
    ProductFactory(name="House Plant", description="Easy to keep.")

    assert search(typo) == ["Electric Kettle"]


def test_a_near_word_that_is_another_word_is_not_a_match():
    ProductFactory(name="House Plant", description="Easy to keep.")
    assert search("mouse") == []


def test_unrelated_words_find_nothing():
    ProductFactory(name="Wireless Headphones", description="Over-ear, foldable.")
    assert search("skillet") == []


def test_stemming_matches_word_forms_in_the_description():
    ProductFactory(name="Tent", description="Sleeps two campers comfortably.")
    assert search("camper") == ["Tent"]


def test_inactive_products_are_never_found():
    ProductFactory(name="Wireless Headphones", is_active=False)
    ProductFactory(name="Wireless Headphones Pro", merchant=MerchantFactory(is_active=False))
    assert search("headphones") == []


def test_search_combines_with_filters_and_other_orderings():
    audio = CategoryFactory(name="Audio")
    ProductFactory(name="Cheap Headphones", category=audio, variants__price_amount="10.00")
    ProductFactory(name="Dear Headphones", category=audio, variants__price_amount="90.00")
    ProductFactory(name="Headphones Stand", variants__price_amount="15.00")

    assert search("headphones", category="audio", ordering="-price") == [
        "Dear Headphones",
        "Cheap Headphones",
    ]
    assert search("headphones", max_price="20", ordering="price") == [
        "Cheap Headphones",
        "Headphones Stand",
    ]


def test_selective_searches_use_both_gin_indexes():
    """On a few thousand rows, a rare word is looked up in the full-text and trigram GIN
    indexes (a BitmapOr) instead of scanning the table."""
    merchant, category = MerchantFactory(), CategoryFactory()
    nouns = ["lamp", "chair", "table", "kettle", "mug", "tent", "shoe", "bag", "desk", "sofa"]
    adjectives = ["red", "oak", "steel", "tiny", "grand", "soft", "blue", "linen", "retro", "new"]
    Product.objects.bulk_create(
        Product(
            merchant=merchant,
            category=category,
            name=f"{adjectives[n % 10]} {nouns[n // 10 % 10]} {n}",
            slug=f"bulk-{n}",
            description=f"A {adjectives[n * 7 % 10]} thing, number {n}, for every home.",
        )
        for n in range(5000)
    )
    ProductFactory(name="Wireless Headphones", merchant=merchant, category=category)
    with connection.cursor() as cursor:
        # What autovacuum does in a running shop: move GIN pending entries into the index
        # and refresh statistics, so the planner sees the indexes as they will be.
        cursor.execute(
            "SELECT gin_clean_pending_list(%s::regclass), gin_clean_pending_list(%s::regclass)",
            ["catalog_product_search_gin", "catalog_product_name_trgm"],
        )
        cursor.execute("ANALYZE catalog_product")

    for text in ("hedphones", "headphones", "wireles hedphones"):
        queryset = Product.objects.active().search(text).order_by("-relevance")
        plan = queryset.explain()
        assert "catalog_product_search_gin" in plan, plan
        assert "catalog_product_name_trgm" in plan, plan
        assert [p.name for p in queryset] == ["Wireless Headphones"]
