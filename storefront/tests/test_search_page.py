"""The search page's part of search: "did you mean" and its query budget."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import ProductImage
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_a_search_that_finds_nothing_links_to_what_was_meant(client):
    ProductFactory(name="Wireless Headphones")
    ProductFactory(name="House Plant")

    html = client.get(reverse("catalog:search"), {"q": "wireless mouse"}).content.decode()

    link = re.search(
        r'<p class="did-you-mean">Did you mean <a href="([^"]+)"[^>]*>([^<]+)</a>', html
    )
    assert link, html
    assert link.group(2) == "wireless house"
    assert link.group(1) == "/search/?q=wireless%20house"


def test_no_did_you_mean_when_the_search_finds_something_or_nothing_is_near(client):
    ProductFactory(name="House Plant")

    for q in ("house", "skillet"):
        html = client.get(reverse("catalog:search"), {"q": q}).content.decode()
        assert "did-you-mean" not in html


@pytest.mark.parametrize("products", [5, 40])
def test_search_page_runs_a_fixed_number_of_queries(products, django_assert_num_queries):
    for n in range(products):
        product = ProductFactory(name=f"Wireless Headphones {n}")
        ProductImage.objects.create(product=product, image=f"products/{n}.jpg")
    # the typed words against the catalog's, the category tree (cold cache), the merchant
    # choices of the sidebar, the count and the page of the bounded set of candidates, the
    # cards' images, the facets
    with django_assert_num_queries(7):
        response = Client().get(reverse("catalog:search"), {"q": "wireles headphones"})
    assert response.status_code == 200


def test_a_search_that_finds_nothing_stays_within_budget(django_assert_num_queries):
    ProductFactory(name="House Plant")
    # the typed words (looked up again for "did you mean"), the tree, the merchants, the
    # count, the facets
    with django_assert_num_queries(6):
        response = Client().get(reverse("catalog:search"), {"q": "mouse"})
    assert "did-you-mean" in response.content.decode()
