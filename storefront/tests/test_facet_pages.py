"""The facet sidebar of the product list, category and search pages: links that combine
filters, their counts, bad attribute filters, the page cache and the query budget."""

import html
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from catalog.models import ProductAttribute
from catalog.tests.factories import CategoryFactory, MerchantFactory, ProductFactory

pytestmark = pytest.mark.django_db

NOW = 1_800_000_000
LIST = reverse("catalog:product_list")


def facet_links(response, group: str) -> dict[str, tuple[str, int, bool]]:
    """{label: (href, count, active)} of one group of the sidebar."""
    page = response.content.decode()
    found = re.search(rf'data-facet="{re.escape(group)}".*?</section>', page, re.S)
    assert found, f"no {group} group"
    links = {}
    for href, attrs, label, count in re.findall(
        r'<a class="facets__link[^"]*" href="([^"]+)"([^>]*)>.*?'
        r'<span class="facets__label">([^<]+)</span> <span class="facets__count">(\d+)</span>',
        found.group(0),
        re.S,
    ):
        links[html.unescape(label)] = (html.unescape(href), int(count), "aria-current" in attrs)
    return links


def query_of(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


@pytest.fixture
def lamps():
    home = CategoryFactory(name="Home")
    lamps = CategoryFactory(name="Lamps", parent=home)
    CategoryFactory(name="Rugs", parent=home)
    acme, zenith = MerchantFactory(name="Acme"), MerchantFactory(name="Zenith")
    for n in range(6):
        product = ProductFactory(
            name=f"Lamp {n}",
            category=lamps if n % 2 else home,
            merchant=acme if n < 4 else zenith,
            variants__price_amount=Decimal("15.00") if n % 3 else Decimal("60.00"),
            variants__stock=0 if n == 5 else 4,
        )
        ProductAttribute.objects.create(
            product=product, name="Colour", value="Red" if n % 2 else "Blue"
        )
    return {"home": home, "lamps": lamps, "acme": acme, "zenith": zenith}


def test_links_add_their_filter_to_the_others_and_start_at_page_one(lamps):
    response = Client().get(LIST, {"q": "lamp", "in_stock": "on", "page": "1"})
    merchants = facet_links(response, "merchant")
    href, count, active = merchants["Zenith"]
    assert (count, active) == (1, False)  # Lamp 5 is out of stock
    assert href.startswith(LIST)
    assert query_of(href) == {"q": "lamp", "in_stock": "on", "merchant": str(lamps["zenith"].pk)}
    # and following it shows what the count said
    assert len(re.findall(r'class="card__title"', Client().get(href).content.decode())) == 1


def test_an_active_link_removes_its_filter_and_counts_ignore_their_own_filter(lamps):
    response = Client().get(LIST, {"merchant": lamps["acme"].pk, "attribute_colour": "Red"})
    merchants = facet_links(response, "merchant")
    href, count, active = merchants["Acme"]
    assert active and count == 2  # Lamp 1 and 3
    assert query_of(href) == {"attribute_colour": "Red"}
    assert merchants["Zenith"][1] == 1  # Lamp 5, red, under the colour filter only
    colours = facet_links(response, "attribute_colour")
    assert colours["Red"][1:] == (2, True)
    assert colours["Blue"][1] == 2  # Lamp 0 and 2 of Acme
    assert query_of(colours["Blue"][0]) == {
        "merchant": str(lamps["acme"].pk),
        "attribute_colour": "Blue",
    }
    # The form sends the attribute filter again with the others.
    assert 'type="hidden" name="attribute_colour" value="Red"' in response.content.decode()


def test_price_rating_and_stock_links_use_the_list_filters(lamps):
    response = Client().get(LIST)
    prices = facet_links(response, "price")
    assert prices["10.00 to 24.99"][1] == 4 and prices["50.00 to 99.99"][1] == 2
    assert query_of(prices["10.00 to 24.99"][0]) == {"min_price": "10.00", "max_price": "24.99"}
    stock = facet_links(response, "in_stock")
    assert stock["In stock only"][1] == 5
    assert query_of(stock["In stock only"][0]) == {"in_stock": "on"}
    chosen = Client().get(LIST, {"min_price": "10.00", "max_price": "24.99"})
    assert facet_links(chosen, "price")["10.00 to 24.99"][1:] == (4, True)


def test_categories_count_their_sub_categories_and_lead_to_sub_category_pages(lamps):
    listing = facet_links(Client().get(LIST, {"q": "lamp"}), "category")
    assert listing["Home"][1] == 6 and "Lamps" not in listing  # top level first
    chosen = facet_links(Client().get(LIST, {"q": "lamp", "category": "home"}), "category")
    assert chosen["Home"][1:] == (6, True) and chosen["Lamps"][1] == 3
    assert "Rugs" not in chosen  # nothing in it
    assert query_of(chosen["Lamps"][0]) == {"q": "lamp", "category": "lamps"}

    page = Client().get(lamps["home"].get_absolute_url(), {"in_stock": "on"})
    sub = facet_links(page, "category")
    href, count, _ = sub["Lamps"]
    assert count == 2  # Lamp 1 and 3; Lamp 5 is out of stock
    assert href == f"{lamps['lamps'].get_absolute_url()}?in_stock=on"


def test_search_page_has_facets_and_an_empty_search_none(lamps):
    assert facet_links(Client().get(reverse("catalog:search"), {"q": "lamp"}), "merchant")
    empty = Client().get(reverse("catalog:search"))
    assert 'class="facets"' not in empty.content.decode()


@pytest.mark.parametrize(
    "query",
    ["attribute_Colour=Red", "attribute_=Red", "attribute_colour=" + "x" * 201],
)
def test_a_bad_attribute_filter_is_a_form_error_and_not_stored(lamps, query):
    with time_machine.travel(NOW, tick=True):
        responses = [Client().get(f"{LIST}?{query}") for _ in range(2)]
    for response in responses:
        assert response.status_code == 200
        assert "Some filters could not be applied" in response.content.decode()
        assert response.get("X-Page-Cache") is None
    # the bad filter is left out: every product listed, and no link carries it
    assert len(re.findall(r'class="card__title"', responses[0].content.decode())) == 6
    for href, _, _ in facet_links(responses[0], "merchant").values():
        assert "attribute_" not in href


def test_attribute_filters_are_stored_canonically_and_bounded(lamps):
    with time_machine.travel(NOW, tick=True) as traveller:
        traveller.shift(10)
        url = f"{LIST}?attribute_colour=Red&merchant={lamps['acme'].pk}"
        assert [Client().get(url)["X-Page-Cache"] for _ in range(2)] == ["miss", "hit"]
        swapped = f"{LIST}?merchant={lamps['acme'].pk}&attribute_colour=Red"
        assert Client().get(swapped)["X-Page-Cache"] == "hit"
        five = "&".join(f"attribute_{name}=1" for name in "abcde")
        assert Client().get(f"{LIST}?{five}").get("X-Page-Cache") is None
        spaced = f"{LIST}?attribute_colour=%20Red"
        assert Client().get(spaced).get("X-Page-Cache") is None


@pytest.mark.parametrize("products", [3, 30])
def test_a_list_with_facet_filters_runs_a_fixed_number_of_queries(
    products, django_assert_num_queries
):
    category = CategoryFactory(name="Lamps")
    merchant = MerchantFactory()
    for _ in range(products):
        product = ProductFactory(category=category, merchant=merchant)
        ProductAttribute.objects.create(product=product, name="Colour", value="Red")
    query = {
        "category": "lamps",
        "merchant": merchant.pk,
        "attribute_colour": "Red",
        "min_rating": "",
        "min_price": "1",
        "in_stock": "on",
    }
    # count, page, the category tree, the merchant choices and lookup, the facets
    with django_assert_num_queries(6):  # the cards' images folded into the page's query
        response = Client().get(LIST, query)
    assert response.status_code == 200
    assert len(re.findall(r'class="card__title"', response.content.decode())) == min(products, 24)
