"""Facet counts (catalog.facets): each group under every active filter but its own,
checked against counts made independently, in Python, over the same products."""

import itertools
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.facets import (
    PRICE_BANDS,
    FacetSelection,
    attribute_key,
    product_facets,
    product_filter_attribute,
)
from catalog.filters import ProductFilter
from catalog.models import Product, ProductAttribute
from catalog.selectors import product_list
from catalog.services import product_summary_refresh
from catalog.tests.factories import CategoryFactory, MerchantFactory, ProductFactory
from shop.core.pagecache import reset_local_version

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api-product-list")


@pytest.fixture
def shelf():
    """36 products over two category trees, three merchants, prices in four bands, stock,
    ratings and two attributes, in every combination the loop makes."""
    home = CategoryFactory(name="Home")
    lamps = CategoryFactory(name="Lamps", parent=home)
    garden = CategoryFactory(name="Garden")
    merchants = [MerchantFactory(name=f"Shop {n}") for n in range(3)]
    prices = [Decimal("5.00"), Decimal("12.50"), Decimal("30.00"), Decimal("120.00")]
    colours = ["Red", "Blue", "Green"]
    for n in range(36):
        product = ProductFactory(
            name=f"Item {n}",
            category=[home, lamps, garden][n % 3],
            merchant=merchants[(n // 3) % 3],
            variants__price_amount=prices[n % 4],
            variants__stock=0 if n % 5 == 0 else 3,
        )
        Product.objects.filter(pk=product.pk).update(
            rating_avg=Decimal(n % 6) if n % 6 else Decimal("0"), rating_count=n % 6
        )
        ProductAttribute.objects.create(product=product, name="Colour", value=colours[n % 3])
        if n % 2:
            ProductAttribute.objects.create(
                product=product, name="Size", value=["S", "M", "L", "XL"][n % 4]
            )
        ProductAttribute.objects.create(
            product=product, name="Battery life", value=f"{n % 2 + 1}0 hours"
        )
    return {"home": home, "lamps": lamps, "garden": garden, "merchants": merchants}


def _rows() -> list[dict]:
    rows = []
    for p in Product.objects.select_related("category"):
        rows.append(
            {
                "id": p.pk,
                "category": p.category_id,
                "parent": p.category.parent_id,
                "merchant": p.merchant_id,
                "price": p.price_amount,
                "in_stock": p.in_stock,
                "rating": p.rating_avg,
                "attributes": {attribute_key(a.name): a.value for a in p.attributes.all()},
            }
        )
    return rows


def _tests(shelf, merchant):
    """Each active filter as a Python test of a row, by group."""
    home = shelf["home"]
    return {
        "category": lambda r: home.pk in (r["category"], r["parent"]),
        "merchant": lambda r: r["merchant"] == merchant.pk,
        "price": lambda r: Decimal("10") <= r["price"] <= Decimal("49.99"),
        "in_stock": lambda r: r["in_stock"],
        "rating": lambda r: r["rating"] >= 2,
        "attribute:colour": lambda r: r["attributes"].get("colour") == "Red",
    }


def _passing(rows, tests, *, but=None):
    return [r for r in rows if all(test(r) for group, test in tests.items() if group != but)]


def test_every_group_counts_under_the_other_active_filters(api_client, shelf):
    merchant = shelf["merchants"][1]
    response = api_client.get(
        LIST_URL,
        {
            "category": "home",
            "merchant": merchant.pk,
            "min_price": "10",
            "max_price": "49.99",
            "in_stock": "true",
            "min_rating": "2",
            "attribute_colour": "Red",
            "page_size": 100,
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    facets = body["facets"]
    rows, tests = _rows(), _tests(shelf, merchant)

    everything = _passing(rows, tests)
    assert everything, "the fixture leaves some products under every filter"
    assert body["count"] == len(everything)
    assert sorted(r["id"] for r in body["results"]) == sorted(r["id"] for r in everything)

    by_category = _passing(rows, tests, but="category")
    expected_categories = {
        "home": sum(1 for r in by_category if shelf["home"].pk in (r["category"], r["parent"])),
        "lamps": sum(1 for r in by_category if r["category"] == shelf["lamps"].pk),
        "garden": sum(1 for r in by_category if r["category"] == shelf["garden"].pk),
    }
    assert {c["slug"]: c["count"] for c in facets["categories"]} == {
        slug: count for slug, count in expected_categories.items() if count
    }

    by_merchant = _passing(rows, tests, but="merchant")
    assert {m["id"]: m["count"] for m in facets["merchants"]} == {
        m.pk: n
        for m in shelf["merchants"]
        if (n := sum(r["merchant"] == m.pk for r in by_merchant))
    }
    assert len({m["id"] for m in facets["merchants"]}) > 1, "other merchants still counted"

    by_price = _passing(rows, tests, but="price")
    for band, answered in zip(PRICE_BANDS, facets["price"], strict=True):
        expected = sum(
            band.min <= r["price"] and (band.max is None or r["price"] <= band.max)
            for r in by_price
        )
        assert answered["count"] == expected, answered

    by_rating = _passing(rows, tests, but="rating")
    assert facets["rating"] == [
        {"min": step, "count": sum(r["rating"] >= step for r in by_rating)} for step in (4, 3, 2, 1)
    ]

    assert facets["in_stock"] == sum(r["in_stock"] for r in _passing(rows, tests, but="in_stock"))

    by_colour = _passing(rows, tests, but="attribute:colour")
    assert {v["value"]: v["count"] for v in facets["attributes"]["colour"]} == {
        colour: n
        for colour in ("Red", "Blue", "Green")
        if (n := sum(r["attributes"]["colour"] == colour for r in by_colour))
    }
    # Another attribute's counts apply every filter, the colour's included.
    assert {v["value"]: v["count"] for v in facets["attributes"]["battery-life"]} == {
        hours: n
        for hours in ("10 hours", "20 hours")
        if (n := sum(r["attributes"]["battery-life"] == hours for r in everything))
    }


def test_without_filters_the_counts_are_the_catalogs(api_client, shelf):
    facets = api_client.get(LIST_URL).json()["facets"]
    assert {c["slug"]: c["count"] for c in facets["categories"]} == {
        "home": 24,  # its own 12 and the 12 of Lamps
        "lamps": 12,
        "garden": 12,
    }
    assert [c["slug"] for c in facets["categories"]] == ["garden", "home", "lamps"]  # tree order
    assert sum(m["count"] for m in facets["merchants"]) == 36
    assert facets["in_stock"] == Product.objects.filter(in_stock=True).count()
    assert {v["value"]: v["count"] for v in facets["attributes"]["size"]} == {
        "M": 9,
        "XL": 9,
    }  # only odd items have a size: n % 4 is 1 or 3


def test_the_attribute_filter_matches_key_and_exact_value(api_client, shelf):
    ids = {
        r["id"]
        for r in api_client.get(
            LIST_URL, {"attribute_battery-life": "10 hours", "page_size": 100}
        ).json()["results"]
    }
    expected = set(
        ProductAttribute.objects.filter(name="Battery life", value="10 hours").values_list(
            "product_id", flat=True
        )
    )
    assert ids == expected and len(ids) == 18
    both = api_client.get(
        LIST_URL,
        {"attribute_battery-life": "10 hours", "attribute_colour": "Red", "page_size": 100},
    ).json()
    assert both["count"] == len(
        expected
        & set(
            ProductAttribute.objects.filter(name="Colour", value="Red").values_list(
                "product_id", flat=True
            )
        )
    )
    assert listed_count(api_client, attribute_colour="red") == 0  # values match exactly
    assert listed_count(api_client, attribute_flavour="Red") == 0  # an unknown key: empty page


def listed_count(client, **params) -> int:
    response = client.get(LIST_URL, params)
    assert response.status_code == 200, response.json()
    return response.json()["count"]


def test_attribute_keys_are_spelt_alike_in_python_and_sql(shelf):
    product = Product.objects.first()
    for name in ("Battery life", "  Größe / Taille ", "USB-C--port", "A_b"):
        ProductAttribute.objects.update_or_create(
            product=product, name=name, defaults={"value": "x"}
        )
        key = attribute_key(name)
        found = product_filter_attribute(Product.objects.all(), key=key, value="x")
        assert list(found) == [product], name


def test_facets_are_computed_once_then_cached(
    shelf, django_assert_num_queries, django_capture_on_commit_callbacks
):
    product_filter = ProductFilter({"q": "item"}, queryset=product_list())
    assert product_filter.qs is not None  # validates and filters
    selection = product_filter.facet_selection()
    candidates = product_filter.facet_candidates
    with django_assert_num_queries(2):  # the facets, the category tree they name
        first = product_facets(candidates=candidates, selection=selection)
    with django_assert_num_queries(0):
        again = product_facets(candidates=candidates, selection=selection)
    assert again == first

    # A product going out of stock changes what the counts read: counted again.
    product = Product.objects.filter(in_stock=True).first()
    with django_capture_on_commit_callbacks(execute=True):
        product.variants.update(stock=0)
        product_summary_refresh(product_ids=[product.pk])
    reset_local_version()  # what CATALOG_VERSION_TTL does within a second
    with django_assert_num_queries(1):
        later = product_facets(candidates=candidates, selection=selection)
    assert later.in_stock == first.in_stock - 1


def test_search_results_are_the_candidates(shelf):
    ProductFactory(name="Unique Teapot")
    product_filter = ProductFilter({"q": "teapot"}, queryset=product_list())
    assert product_filter.qs is not None  # validates and filters
    facets = product_facets(
        candidates=product_filter.facet_candidates, selection=product_filter.facet_selection()
    )
    assert sum(m.count for m in facets.merchants) == 1


def test_an_empty_list_has_empty_facets_without_a_query(django_assert_num_queries):
    CategoryFactory()
    selection = FacetSelection()
    with django_assert_num_queries(1):  # the category tree only
        facets = product_facets(candidates=Product.objects.none(), selection=selection)
    assert facets.categories == [] and facets.in_stock == 0
    assert [p.count for p in facets.price] == [0] * len(PRICE_BANDS)


def test_price_bands_cover_every_price_once():
    for low, high in itertools.pairwise(PRICE_BANDS):
        assert low.max is not None and high.min - low.max == Decimal("0.01")
    assert PRICE_BANDS[0].min == 0 and PRICE_BANDS[-1].max is None
