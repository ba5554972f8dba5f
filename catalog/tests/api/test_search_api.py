"""`products/suggest/` and the search parts of `products/?q=` (API.md "Catalog")."""

import pytest
from django.urls import reverse

from catalog.models import ProductImage
from catalog.tests.factories import MerchantFactory, ProductFactory

pytestmark = pytest.mark.django_db

SUGGEST_URL = reverse("api-product-suggest")
LIST_URL = reverse("api-product-list")


def suggested(client, q: str) -> list[str]:
    response = client.get(SUGGEST_URL, {"q": q})
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()]


def test_suggest_answers_id_slug_and_name(api_client):
    product = ProductFactory(name="Wireless Headphones")

    response = api_client.get(SUGGEST_URL, {"q": "wireless"})

    assert response.status_code == 200
    assert response.json() == [{"id": product.pk, "slug": product.slug, "name": product.name}]


@pytest.mark.parametrize("typed", ["h", "hea", "headph", "wireless headph", "WIRELESS Head"])
def test_suggest_completes_the_last_word(api_client, typed):
    ProductFactory(name="Wireless Headphones")
    ProductFactory(name="Garden Hose", description="Fits headphones in the shed.")

    found = suggested(api_client, typed)
    assert "Wireless Headphones" in found
    if len(typed) > 1:
        assert "Garden Hose" not in found  # the description does not count, the name does


@pytest.mark.parametrize("typed", ["hedph", "wireles headph", "wirelss hea", "sonra", "voltx"])
def test_suggest_forgives_typos(api_client, typed):
    ProductFactory(name="Wireless Headphones")
    ProductFactory(name="Sonora Speaker")
    ProductFactory(name="Voltix Earbuds")
    ProductFactory(name="Garden Hose")

    found = suggested(api_client, typed)
    assert found, typed
    assert "Garden Hose" not in found


def test_suggest_gives_at_most_ten_best_rated_first(api_client):
    for n in range(12):
        ProductFactory(name=f"Travel Mug {n}", rating_score=n)

    found = suggested(api_client, "travel m")
    assert found == [f"Travel Mug {n}" for n in range(11, 1, -1)]


def test_suggest_leaves_out_inactive_products(api_client):
    ProductFactory(name="Travel Mug", is_active=False)
    ProductFactory(name="Travel Mug Pro", merchant=MerchantFactory(is_active=False))
    assert suggested(api_client, "travel") == []


@pytest.mark.parametrize("q", ["", "   ", "!!!"])
def test_suggest_for_nothing_typed_is_empty(api_client, q):
    ProductFactory(name="Travel Mug")
    response = api_client.get(SUGGEST_URL, {"q": q})
    assert response.status_code == 200
    assert response.json() == []


def test_suggest_without_q_is_empty(api_client):
    response = api_client.get(SUGGEST_URL)
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize("q", ["x" * 201, "tea\x00pot"])
def test_suggest_bad_input_is_a_400_with_a_code(api_client, q):
    response = api_client.get(SUGGEST_URL, {"q": q})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "q" in response.json()["fields"]


def test_suggest_runs_four_queries_whatever_it_finds(api_client, django_assert_num_queries):
    for n in range(30):
        ProductFactory(name=f"Wireless Headphones {n}")
    # the typed words against the catalog's, the completions of the last, the planner told
    # to read the index, the products
    with django_assert_num_queries(4):
        response = api_client.get(SUGGEST_URL, {"q": "wireles headph"})
    assert len(response.json()) == 10


def test_suggest_is_described_in_the_schema(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/products/suggest/"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["q"]
    item = operation["responses"]["200"]["content"]["application/json"]["schema"]["items"]
    ref = item["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][ref]["properties"]) == {"id", "slug", "name"}
    listing = schema["paths"]["/api/v1/products/"]["get"]["responses"]["200"]["content"]
    page_ref = listing["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "did_you_mean" in schema["components"]["schemas"][page_ref]["properties"]


# --- products/?q= -----------------------------------------------------------------------


def test_a_search_that_finds_nothing_says_what_was_meant(api_client):
    ProductFactory(name="House Plant")

    body = api_client.get(LIST_URL, {"q": "mouse"}).json()
    assert body["count"] == 0
    assert body["did_you_mean"] == "house"
    assert api_client.get(LIST_URL, {"q": body["did_you_mean"]}).json()["count"] == 1


def test_did_you_mean_is_null_when_the_search_finds_something_or_nothing_is_near(api_client):
    ProductFactory(name="House Plant")

    assert api_client.get(LIST_URL, {"q": "house"}).json()["did_you_mean"] is None
    assert api_client.get(LIST_URL, {"q": "skillet"}).json()["did_you_mean"] is None
    assert api_client.get(LIST_URL).json()["did_you_mean"] is None


@pytest.mark.parametrize("page_size", [5, 50])
def test_a_search_runs_a_fixed_number_of_queries(api_client, django_assert_num_queries, page_size):
    for n in range(60):
        product = ProductFactory(name=f"Wireless Headphones {n}", variants=2)
        ProductImage.objects.create(product=product, image=f"products/{n}.jpg")
    # the typed words against the catalog's, count, products with merchants, their images,
    # the facets and the category tree they name: the count, the page and the facets each
    # read the bounded set of candidates, not every match
    with django_assert_num_queries(6):
        response = api_client.get(LIST_URL, {"q": "wireles hedphones", "page_size": page_size})
    assert len(response.json()["results"]) == page_size
    assert response.json()["count"] == 60
