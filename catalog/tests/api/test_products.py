from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product, ProductImage, Variant
from catalog.services import product_summary_refresh
from catalog.tests.factories import (
    CategoryFactory,
    MerchantFactory,
    ProductAttributeFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api-product-list")


def detail_url(pk: int) -> str:
    return reverse("api-product-detail", kwargs={"pk": pk})


def listed_ids(client, **params) -> list[int]:
    response = client.get(LIST_URL, params)
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- shapes -----------------------------------------------------------------------------


def test_list_item_shape_with_money_and_rating_as_strings(api_client):
    merchant = MerchantFactory(name="Acme", slug="acme")
    product = ProductFactory(
        name="Blue Kettle",
        slug="blue-kettle",
        merchant=merchant,
        variants=2,
        variants__price_amount=Decimal("19.9"),
    )
    Product.objects.filter(pk=product.pk).update(rating_avg=Decimal("4.5"), rating_count=12)

    response = api_client.get(LIST_URL)

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": product.pk,
                "slug": "blue-kettle",
                "name": "Blue Kettle",
                "merchant": {"id": merchant.pk, "name": "Acme", "slug": "acme"},
                "price": "19.90",
                "currency": "USD",
                "in_stock": True,
                "rating_avg": "4.50",
                "rating_count": 12,
                "image": None,
            }
        ],
        "did_you_mean": None,  # a correction for a search that found nothing
        "facets": {
            "categories": [
                {"slug": product.category.slug, "name": product.category.name, "count": 1}
            ],
            "merchants": [{"id": merchant.pk, "name": "Acme", "count": 1}],
            "price": [
                {"min": "0.00", "max": "9.99", "count": 0},
                {"min": "10.00", "max": "24.99", "count": 1},
                {"min": "25.00", "max": "49.99", "count": 0},
                {"min": "50.00", "max": "99.99", "count": 0},
                {"min": "100.00", "max": "249.99", "count": 0},
                {"min": "250.00", "max": "499.99", "count": 0},
                {"min": "500.00", "max": None, "count": 0},
            ],
            "rating": [
                {"min": 4, "count": 1},
                {"min": 3, "count": 1},
                {"min": 2, "count": 1},
                {"min": 1, "count": 1},
            ],
            "in_stock": 1,
            "attributes": {},
        },
    }


def test_list_price_is_the_lowest_active_variant_price(api_client):
    product = ProductFactory(variants__price_amount=Decimal("30.00"))
    VariantFactory(product=product, price_amount=Decimal("12.50"))
    VariantFactory(product=product, price_amount=Decimal("1.00"), is_active=False)
    product_summary_refresh(product_ids=[product.pk])

    [row] = api_client.get(LIST_URL).json()["results"]

    assert row["price"] == "12.50"


def test_list_image_is_the_first_images_thumbnail_as_absolute_url(api_client):
    product = ProductFactory()
    ProductImage.objects.create(
        product=product,
        image="products/second.jpg",
        thumbnail="products/thumbs/second.jpg",
        position=2,
    )
    ProductImage.objects.create(
        product=product,
        image="products/first.jpg",
        thumbnail="products/thumbs/first.jpg",
        position=1,
    )

    [row] = api_client.get(LIST_URL).json()["results"]

    assert row["image"] == "http://testserver/media/products/thumbs/first.jpg"


def test_list_image_falls_back_to_the_image_without_thumbnail(api_client):
    product = ProductFactory()
    ProductImage.objects.create(product=product, image="products/only.jpg")

    [row] = api_client.get(LIST_URL).json()["results"]

    assert row["image"] == "http://testserver/media/products/only.jpg"


def test_detail_shape(api_client):
    category = CategoryFactory(name="Kettles", slug="kettles")
    product = ProductFactory(
        name="Kettle", slug="kettle", description="Boils water.", category=category, variants=0
    )
    cheap = VariantFactory(
        product=product, sku="K-1", name="Small", price_amount=Decimal("9.5"), stock=5, position=0
    )
    sold_out = VariantFactory(
        product=product,
        sku="K-2",
        name="Large",
        price_amount=Decimal("15.00"),
        stock=0,
        position=1,
    )
    VariantFactory(product=product, sku="K-3", is_active=False)
    Variant.objects.filter(pk=cheap.pk).update(reserved=2)
    product_summary_refresh(product_ids=[product.pk])
    image = ProductImage.objects.create(
        product=product, image="products/k.jpg", thumbnail="products/thumbs/k.jpg", alt_text="K"
    )
    ProductAttributeFactory(product=product, name="Volume", value="1.7 l", position=0)
    ProductAttributeFactory(product=product, name="Colour", value="Steel", position=1)

    response = api_client.get(detail_url(product.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["price"] == "9.50"
    assert body["in_stock"] is True
    assert body["description"] == "Boils water."
    assert body["category"] == {"id": category.pk, "name": "Kettles", "slug": "kettles"}
    assert body["image"] == "http://testserver/media/products/thumbs/k.jpg"
    assert body["images"] == [
        {
            "id": image.pk,
            "url": "http://testserver/media/products/k.jpg",
            "thumbnail": "http://testserver/media/products/thumbs/k.jpg",
            "alt": "K",
        }
    ]
    assert body["attributes"] == [
        {"name": "Volume", "value": "1.7 l"},
        {"name": "Colour", "value": "Steel"},
    ]
    assert body["variants"] == [
        {
            "id": cheap.pk,
            "sku": "K-1",
            "name": "Small",
            "price": "9.50",
            "currency": "USD",
            "in_stock": True,
            "stock_available": 3,
        },
        {
            "id": sold_out.pk,
            "sku": "K-2",
            "name": "Large",
            "price": "15.00",
            "currency": "USD",
            "in_stock": False,
            "stock_available": 0,
        },
    ]
    list_keys = set(api_client.get(LIST_URL).json()["results"][0])
    assert list_keys <= set(body)


def test_variant_with_all_stock_reserved_is_not_in_stock(api_client):
    product = ProductFactory(variants__stock=2)
    Variant.objects.filter(product=product).update(reserved=2)
    product_summary_refresh(product_ids=[product.pk])

    body = api_client.get(detail_url(product.pk)).json()

    assert body["in_stock"] is False
    assert body["variants"][0]["in_stock"] is False
    assert body["variants"][0]["stock_available"] == 0


# --- visibility and 404s ------------------------------------------------------------------


def test_inactive_products_and_products_of_inactive_merchants_are_hidden(api_client):
    visible = ProductFactory()
    hidden = ProductFactory(is_active=False)
    closed_shop = ProductFactory(merchant=MerchantFactory(is_active=False))

    assert listed_ids(api_client) == [visible.pk]
    for product in (hidden, closed_shop):
        response = api_client.get(detail_url(product.pk))
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "Not found."}


def test_unknown_product_is_a_404_envelope(api_client):
    response = api_client.get(detail_url(987654321))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- filters --------------------------------------------------------------------------------


def test_q_ranks_name_matches_above_description_matches(api_client):
    in_description = ProductFactory(name="Stove", description="Pairs well with a kettle.")
    in_name = ProductFactory(name="Kettle", description="Boils water.")
    ProductFactory(name="Toaster", description="Browns bread.")

    assert listed_ids(api_client, q="kettle") == [in_name.pk, in_description.pk]


def test_q_tolerates_a_typo(api_client):
    kettle = ProductFactory(name="Kettle", description="Boils water.")
    ProductFactory(name="Toaster", description="Browns bread.")

    assert listed_ids(api_client, q="ketle") == [kettle.pk]


def test_q_with_another_ordering_keeps_the_match_but_changes_the_order(api_client):
    cheap = ProductFactory(name="Cheap kettle", variants__price_amount=Decimal("5.00"))
    dear = ProductFactory(name="Kettle", variants__price_amount=Decimal("50.00"))
    ProductFactory(name="Toaster", variants__price_amount=Decimal("1.00"))

    assert listed_ids(api_client, q="kettle", ordering="-price") == [dear.pk, cheap.pk]


def test_category_filter_includes_sub_categories(api_client):
    kitchen = CategoryFactory(slug="kitchen")
    kettles = CategoryFactory(slug="kettles", parent=kitchen)
    electric = CategoryFactory(slug="electric-kettles", parent=kettles)
    garden = CategoryFactory(slug="garden")
    in_root = ProductFactory(category=kitchen)
    in_child = ProductFactory(category=kettles)
    in_grandchild = ProductFactory(category=electric)
    ProductFactory(category=garden)

    assert set(listed_ids(api_client, category="kitchen")) == {
        in_root.pk,
        in_child.pk,
        in_grandchild.pk,
    }
    assert set(listed_ids(api_client, category="kettles")) == {in_child.pk, in_grandchild.pk}


def test_unknown_category_matches_nothing(api_client):
    ProductFactory()

    assert listed_ids(api_client, category="no-such-category") == []


def test_price_filters_use_the_listed_lowest_price(api_client):
    # Listed at 5.00 although another variant costs 50.00.
    spread = ProductFactory(variants__price_amount=Decimal("50.00"))
    VariantFactory(product=spread, price_amount=Decimal("5.00"))
    product_summary_refresh(product_ids=[spread.pk])
    mid = ProductFactory(variants__price_amount=Decimal("20.00"))

    assert listed_ids(api_client, min_price="10") == [mid.pk]
    assert listed_ids(api_client, max_price="10.00") == [spread.pk]
    assert listed_ids(api_client, min_price="5.00", max_price="20.00", ordering="price") == [
        spread.pk,
        mid.pk,
    ]


def test_in_stock_filter(api_client):
    stocked = ProductFactory(variants__stock=3)
    sold_out = ProductFactory(variants__stock=0)

    assert listed_ids(api_client, in_stock="true") == [stocked.pk]
    assert set(listed_ids(api_client, in_stock="false")) == {stocked.pk, sold_out.pk}


def test_merchant_filter(api_client):
    acme = MerchantFactory()
    mine = ProductFactory(merchant=acme)
    ProductFactory()

    assert listed_ids(api_client, merchant=acme.pk) == [mine.pk]


# --- orderings ------------------------------------------------------------------------------


def test_price_orderings(api_client):
    mid = ProductFactory(variants__price_amount=Decimal("20.00"))
    low = ProductFactory(variants__price_amount=Decimal("5.00"))
    high = ProductFactory(variants__price_amount=Decimal("80.00"))

    assert listed_ids(api_client, ordering="price") == [low.pk, mid.pk, high.pk]
    assert listed_ids(api_client, ordering="-price") == [high.pk, mid.pk, low.pk]


def test_rating_ordering_ranks_by_the_bayesian_score(api_client):
    one_perfect = ProductFactory()
    many_good = ProductFactory()
    unrated = ProductFactory()
    Product.objects.filter(pk=one_perfect.pk).update(
        rating_avg=Decimal("5.00"), rating_count=1, rating_score=Decimal("4.1000")
    )
    Product.objects.filter(pk=many_good.pk).update(
        rating_avg=Decimal("4.80"), rating_count=200, rating_score=Decimal("4.7900")
    )

    assert listed_ids(api_client, ordering="-rating") == [many_good.pk, one_perfect.pk, unrated.pk]


def test_created_ordering_is_the_default_without_q(api_client):
    now = timezone.now()
    old = ProductFactory()
    new = ProductFactory()
    older = ProductFactory()
    Product.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=2))
    Product.objects.filter(pk=new.pk).update(created_at=now)
    Product.objects.filter(pk=older.pk).update(created_at=now - timedelta(days=9))

    assert listed_ids(api_client, ordering="-created") == [new.pk, old.pk, older.pk]
    assert listed_ids(api_client) == [new.pk, old.pk, older.pk]
    # "relevance" without a query has nothing to rank by and falls back to newest first.
    assert listed_ids(api_client, ordering="relevance") == [new.pk, old.pk, older.pk]


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_price": "abc"}, "min_price"),
        ({"max_price": "-1"}, "max_price"),
        ({"ordering": "bogus"}, "ordering"),
        ({"merchant": "999999"}, "merchant"),
        ({"merchant": "abc"}, "merchant"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"q": "nul\x00byte"}, "q"),
        ({"page_size": "abc"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
    ],
)
def test_bad_filter_values_are_400_with_field_errors(api_client, params, field):
    ProductFactory()

    response = api_client.get(LIST_URL, params)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["message"]
    assert list(body["fields"]) == [field]
    assert all(isinstance(message, str) for message in body["fields"][field])


def test_inactive_merchant_filter_is_a_400(api_client):
    closed = MerchantFactory(is_active=False)

    response = api_client.get(LIST_URL, {"merchant": closed.pk})

    assert response.status_code == 400
    assert "merchant" in response.json()["fields"]


def test_huge_price_filter_is_not_a_server_error(api_client):
    ProductFactory()

    response = api_client.get(LIST_URL, {"min_price": "1e400"})

    assert response.status_code in (200, 400)


@pytest.mark.parametrize("page", ["0", "abc", "99"])
def test_bad_page_is_a_404_envelope(api_client, page):
    ProductFactory()

    response = api_client.get(LIST_URL, {"page": page})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- pagination -----------------------------------------------------------------------------


def test_pagination_envelope_and_links(api_client):
    ProductFactory.create_batch(5)

    first = api_client.get(LIST_URL, {"page_size": 2}).json()
    last = api_client.get(LIST_URL, {"page_size": 2, "page": 3}).json()

    assert first["count"] == 5
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/products/?page=2&page_size=2"
    assert len(last["results"]) == 1
    assert last["next"] is None
    assert last["previous"] == "http://testserver/api/v1/products/?page=2&page_size=2"


def test_page_size_is_capped_at_100(api_client):
    ProductFactory.create_batch(101)

    body = api_client.get(LIST_URL, {"page_size": 500}).json()

    assert body["count"] == 101
    assert len(body["results"]) == 100


def test_default_page_size_is_24(api_client):
    ProductFactory.create_batch(25)

    assert len(api_client.get(LIST_URL).json()["results"]) == 24


# --- queries and caching --------------------------------------------------------------------


@pytest.fixture
def sixty_products():
    merchants = MerchantFactory.create_batch(3)
    categories = CategoryFactory.create_batch(3)
    for n in range(60):
        product = ProductFactory(merchant=merchants[n % 3], category=categories[n % 3], variants=2)
        ProductImage.objects.create(product=product, image=f"products/{n}.jpg")


@pytest.mark.parametrize("page_size", [5, 50])
def test_list_runs_a_fixed_number_of_queries(
    api_client, sixty_products, django_assert_num_queries, page_size
):
    # count, products joined with merchants, their images, the facets and the category tree
    # they name (cold cache)
    with django_assert_num_queries(5):
        response = api_client.get(LIST_URL, {"page_size": page_size})

    assert len(response.json()["results"]) == page_size


@pytest.mark.parametrize("page_size", [5, 50])
def test_filtered_list_runs_a_fixed_number_of_queries(
    api_client, sixty_products, django_assert_num_queries, page_size
):
    merchant_id = Product.objects.values_list("merchant_id", flat=True).first()
    category = Product.objects.select_related("category").first().category
    # + the merchant choice lookup, the category tree (cold cache), the search's look-up
    # of the typed words among the catalog's (catalog.search) and the facets
    with django_assert_num_queries(7):
        response = api_client.get(
            LIST_URL,
            {
                "page_size": page_size,
                "merchant": merchant_id,
                "category": category.slug,
                "q": "product",
                "in_stock": "true",
                "ordering": "-price",
            },
        )

    assert response.status_code == 200
    assert response.json()["count"] == 20


def test_detail_runs_a_fixed_number_of_queries(api_client, django_assert_num_queries):
    product = ProductFactory(variants=5)
    for n in range(4):
        ProductImage.objects.create(product=product, image=f"products/{n}.jpg")
        ProductAttributeFactory(product=product)

    # product with merchant and category, its variants, images and attributes folded in
    with django_assert_num_queries(1):
        response = api_client.get(detail_url(product.pk))

    body = response.json()
    assert (len(body["variants"]), len(body["images"]), len(body["attributes"])) == (5, 4, 4)


def test_anonymous_product_answers_are_cached_and_errors_are_not(api_client):
    product = ProductFactory()

    assert api_client.get(LIST_URL)["X-Page-Cache"] == "miss"
    assert api_client.get(LIST_URL)["X-Page-Cache"] == "hit"
    assert api_client.get(detail_url(product.pk))["X-Page-Cache"] == "miss"
    assert api_client.get(detail_url(product.pk))["X-Page-Cache"] == "hit"
    assert "X-Page-Cache" not in api_client.get(detail_url(product.pk + 1000))
    assert "X-Page-Cache" not in api_client.get(LIST_URL, {"ordering": "bogus"})


@pytest.mark.parametrize("param", ["ordering", "min_price", "category", "merchant", "in_stock"])
def test_a_filter_given_with_no_value_is_a_400(api_client, param):
    response = api_client.get(f"/api/v1/products/?{param}=")
    assert response.status_code == 400
    assert param in response.json()["fields"]


def test_page_size_given_with_no_value_is_a_400_and_empty_page_a_404(api_client):
    assert api_client.get("/api/v1/products/?page_size=").status_code == 400
    assert api_client.get("/api/v1/products/?page=").status_code == 404
