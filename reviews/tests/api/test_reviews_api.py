"""Reviews and recommendations API (API.md "Catalog")."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Product, ProductImage
from catalog.tests.factories import CategoryFactory, ProductFactory
from reviews.models import BoughtTogether, Review
from reviews.tests.factories import ReviewFactory, buy
from shop.core.pagecache import catalog_changed

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


def _url(product_or_pk, what="reviews") -> str:
    pk = getattr(product_or_pk, "pk", product_or_pk)
    return f"/api/v1/products/{pk}/{what}/"


# --- GET reviews -------------------------------------------------------------------------


def test_list_shape_published_only_newest_first(api_client):
    product = ProductFactory()
    now = timezone.now()
    old = ReviewFactory(
        product=product, rating=4, title="Old", body="Fine.", author__name="Ada Lovelace"
    )
    Review.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=2))
    new = ReviewFactory(product=product, rating=2, title="New", author__name="Grace")
    ReviewFactory(product=product, status=Review.Status.HIDDEN, title="Hidden")
    ReviewFactory(product=product, status=Review.Status.PENDING, title="Pending")
    ReviewFactory(title="Another product's")

    response = api_client.get(_url(product))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    assert [r["title"] for r in body["results"]] == ["New", "Old"]
    first, second = body["results"]
    assert set(first) == {"id", "rating", "title", "body", "author_name", "created", "reply"}
    assert first["reply"] is None
    assert first["id"] == new.pk and first["rating"] == 2 and first["author_name"] == "Grace"
    assert second["author_name"] == "Ada L." and second["body"] == "Fine."


def test_author_name_never_shows_the_email(api_client):
    product = ProductFactory()
    ReviewFactory(product=product, author__name="", author__email="ada.lovelace@example.com")
    response = api_client.get(_url(product))
    text = response.content.decode()
    assert "ada.lovelace" not in text and "example.com" not in text
    assert response.json()["results"][0]["author_name"] == "Verified buyer"


def test_list_is_paginated(api_client):
    product = ProductFactory()
    ReviewFactory.create_batch(5, product=product)
    body = api_client.get(_url(product), {"page_size": 2, "page": 2}).json()
    assert body["count"] == 5 and len(body["results"]) == 2
    assert body["next"] and body["previous"]


def test_review_text_is_plain_json_text(api_client):
    product = ProductFactory()
    ReviewFactory(product=product, title=XSS, body=XSS)
    response = api_client.get(_url(product))
    assert response["Content-Type"] == "application/json"
    result = response.json()["results"][0]
    assert result["title"] == XSS and result["body"] == XSS  # data, not markup


@pytest.mark.parametrize("what", ["reviews", "recommendations"])
def test_unknown_or_inactive_product_is_404(api_client, what):
    inactive = ProductFactory(is_active=False)
    for pk in (inactive.pk, 999999):
        response = api_client.get(_url(pk, what))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_list_query_count_does_not_grow(api_client, django_assert_num_queries):
    product = ProductFactory()
    ReviewFactory.create_batch(3, product=product)
    # The product, the count, the page (authors' names joined in).
    with django_assert_num_queries(3):
        assert len(api_client.get(_url(product)).json()["results"]) == 3
    ReviewFactory.create_batch(12, product=product)
    with django_assert_num_queries(3):
        assert len(api_client.get(_url(product), {"page_size": 20}).json()["results"]) == 15


def test_anonymous_list_is_cached_until_a_review_is_written(
    api_client, auth_client, user, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    buy(user=user, product=product)
    assert api_client.get(_url(product))["X-Page-Cache"] == "miss"
    assert api_client.get(_url(product))["X-Page-Cache"] == "hit"

    with django_capture_on_commit_callbacks(execute=True):
        assert (
            auth_client.post(
                _url(product), {"rating": 5, "title": "Yes"}, format="json"
            ).status_code
            == 201
        )

    response = api_client.get(_url(product))
    assert response["X-Page-Cache"] == "miss"
    assert response.json()["count"] == 1


# --- POST reviews ------------------------------------------------------------------------


def test_buyer_creates_a_review(auth_client, user, django_capture_on_commit_callbacks):
    user.name = "Ada Lovelace"
    user.save()
    product = ProductFactory()
    buy(user=user, product=product)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = auth_client.post(
            _url(product), {"rating": 4, "title": " Good kettle ", "body": XSS}, format="json"
        )

    assert response.status_code == 201
    body = response.json()
    review = Review.objects.get(product=product, author=user)
    assert body == {
        "id": review.pk,
        "rating": 4,
        "title": "Good kettle",
        "body": XSS,
        "author_name": "Ada L.",
        "created": body["created"],
        "reply": None,
    }
    assert review.status == Review.Status.PUBLISHED
    assert len(callbacks) >= 2  # the recomputation request and the cache invalidation


def test_with_approval_the_review_waits(auth_client, user, settings):
    settings.REVIEWS_REQUIRE_APPROVAL = True
    product = ProductFactory()
    buy(user=user, product=product)
    assert (
        auth_client.post(_url(product), {"rating": 5, "title": "Hi"}, format="json").status_code
        == 201
    )
    assert Review.objects.get(author=user).status == Review.Status.PENDING
    assert auth_client.get(_url(product)).json()["count"] == 0


def test_not_purchased_is_403(auth_client):
    product = ProductFactory()
    response = auth_client.post(_url(product), {"rating": 5, "title": "Hi"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_purchased"
    assert not Review.objects.exists()


def test_second_review_is_409(auth_client, user):
    product = ProductFactory()
    buy(user=user, product=product)
    data = {"rating": 5, "title": "Hi"}
    assert auth_client.post(_url(product), data, format="json").status_code == 201
    response = auth_client.post(_url(product), data, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_reviewed"
    assert Review.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"rating": 0, "title": "Hi"}, "rating"),
        ({"rating": 6, "title": "Hi"}, "rating"),
        ({"rating": "5", "title": "Hi"}, "rating"),
        ({"rating": 4.5, "title": "Hi"}, "rating"),
        ({"rating": True, "title": "Hi"}, "rating"),
        ({"title": "Hi"}, "rating"),
        ({"rating": 5}, "title"),
        ({"rating": 5, "title": "   "}, "title"),
        ({"rating": 5, "title": 12}, "title"),
        ({"rating": 5, "title": "x" * 151}, "title"),
        ({"rating": 5, "title": "Hi", "body": "x" * 5001}, "body"),
        ({"rating": 5, "title": "Hi\x00"}, "title"),
    ],
)
def test_bad_input_is_400(auth_client, user, data, field):
    product = ProductFactory()
    buy(user=user, product=product)
    response = auth_client.post(_url(product), data, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["fields"]
    assert not Review.objects.exists()


def test_post_to_unknown_or_inactive_product_is_404(auth_client, user):
    product = ProductFactory()
    buy(user=user, product=product)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    for pk in (product.pk, 999999):
        response = auth_client.post(_url(pk), {"rating": 5, "title": "Hi"}, format="json")
        assert response.status_code == 404


def test_anonymous_post_is_401(api_client):
    product = ProductFactory()
    response = api_client.post(_url(product), {"rating": 5, "title": "Hi"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- recommendations -----------------------------------------------------------------------


def test_recommendations_are_product_cards_never_the_product_itself(api_client):
    category = CategoryFactory()
    product = ProductFactory(category=category)
    others = [ProductFactory(category=category) for _ in range(14)]
    ProductImage.objects.create(product=others[0], image="products/a.jpg")
    BoughtTogether.objects.create(product=product, other=others[5], orders=3)
    BoughtTogether.objects.create(product=product, other=others[9], orders=7)

    response = api_client.get(_url(product, "recommendations"))

    assert response.status_code == 200
    cards = response.json()
    assert isinstance(cards, list) and len(cards) == 12
    ids = [card["id"] for card in cards]
    assert product.pk not in ids and len(set(ids)) == 12
    assert ids[:2] == [others[9].pk, others[5].pk]  # bought together first, most orders first
    listed = api_client.get("/api/v1/products/").json()["results"][0]
    assert set(cards[0]) == set(listed)  # the same card shape as products/


def test_recommendations_query_count_is_fixed(api_client, django_assert_num_queries):
    category = CategoryFactory()
    product = ProductFactory(category=category)
    total = 0
    for count in (2, 8):
        total += count
        for other in [ProductFactory(category=category) for _ in range(count)]:
            ProductImage.objects.create(product=other, image="products/a.jpg")
            BoughtTogether.objects.create(product=product, other=other, orders=1)
        catalog_changed()  # as the commit of new products does: no cached answer
        # The product, the cards with their images folded in.
        with django_assert_num_queries(2):
            response = api_client.get(_url(product, "recommendations"))
        assert len(response.json()) == total
