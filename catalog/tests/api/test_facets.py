"""`products/` with `facets` and `attribute_<key>`: bad input, query budget, schema."""

import pytest
from django.urls import reverse

from catalog.models import ProductAttribute
from catalog.tests.factories import CategoryFactory, MerchantFactory, ProductFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api-product-list")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("attribute_=Red", "attribute_"),
        ("attribute_Colour=Red", "attribute_Colour"),  # keys are lower case
        ("attribute_col%20our=Red", "attribute_col our"),
        ("attribute_-colour=Red", "attribute_-colour"),
        ("attribute_" + "x" * 41 + "=Red", "attribute_" + "x" * 41),
        ("attribute_colour=", "attribute_colour"),
        ("attribute_colour=" + "x" * 201, "attribute_colour"),
        ("attribute_a=1&attribute_b=1&attribute_c=1&attribute_d=1&attribute_e=1", "attribute_e"),
        ("min_rating=5", "min_rating"),
        ("min_rating=0", "min_rating"),
        ("min_rating=x", "min_rating"),
        ("min_rating=", "min_rating"),
    ],
)
def test_bad_facet_filters_are_a_400_naming_the_field(api_client, query, field):
    ProductFactory()
    response = api_client.get(f"{LIST_URL}?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"], body


def test_four_attribute_filters_are_accepted(api_client):
    product = ProductFactory()
    for name in ("a", "b", "c", "d"):
        ProductAttribute.objects.create(product=product, name=name.upper(), value="1")
    response = api_client.get(f"{LIST_URL}?attribute_a=1&attribute_b=1&attribute_c=1&attribute_d=1")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [product.pk]


def test_min_rating_lists_products_rated_that_and_up(api_client):
    from catalog.models import Product

    low, high = ProductFactory(), ProductFactory()
    Product.objects.filter(pk=low.pk).update(rating_avg="2.90", rating_count=3)
    Product.objects.filter(pk=high.pk).update(rating_avg="3.00", rating_count=1)
    body = api_client.get(LIST_URL, {"min_rating": 3}).json()
    assert [row["id"] for row in body["results"]] == [high.pk]
    assert body["facets"]["rating"][1] == {"min": 3, "count": 1}  # its own filter left out
    assert body["facets"]["rating"][2] == {"min": 2, "count": 2}


@pytest.fixture
def sixty_products():
    merchants = MerchantFactory.create_batch(3)
    categories = CategoryFactory.create_batch(3)
    for n in range(60):
        product = ProductFactory(merchant=merchants[n % 3], category=categories[n % 3], variants=2)
        ProductAttribute.objects.create(
            product=product, name="Colour", value=["Red", "Blue"][n % 2]
        )
        ProductAttribute.objects.create(product=product, name="Size", value=f"{n % 4}")


@pytest.mark.parametrize("page_size", [2, 50])
def test_a_page_with_every_facet_filter_runs_a_fixed_number_of_queries(
    api_client, sixty_products, django_assert_num_queries, page_size
):
    category = CategoryFactory._meta.model.objects.order_by("id").first()
    merchant_id = category.products.values_list("merchant_id", flat=True).first()
    # count, page, images, the merchant choice, the category tree (cold cache), the facets
    with django_assert_num_queries(6):
        response = api_client.get(
            LIST_URL,
            {
                "page_size": page_size,
                "category": category.slug,
                "merchant": merchant_id,
                "min_price": "1",
                "max_price": "99.99",
                "in_stock": "true",
                "attribute_colour": "Red",
                "attribute_size": "0",
                "ordering": "price",
            },
        )
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5  # n % 3 == 0 and n % 4 == 0 (so even: red) of 60
    assert len(body["results"]) == min(page_size, 5)
    assert {v["value"] for v in body["facets"]["attributes"]["size"]} == {"0", "2"}


def test_the_schema_describes_facets_and_the_attribute_filter(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    page = schema["components"]["schemas"]["PaginatedProductListList"]
    facets = page["properties"]["facets"]
    assert "facets" in page["required"]
    assert set(facets["properties"]) == {
        "categories",
        "merchants",
        "price",
        "rating",
        "in_stock",
        "attributes",
    }
    parameters = {p["name"] for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]}
    assert {"attribute_<key>", "min_rating"} <= parameters
