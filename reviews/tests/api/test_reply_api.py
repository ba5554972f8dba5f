"""The merchant's reply (API.md "Catalog"): POST staff/reviews/{id}/reply/, and `reply` on
the reviews of products/{id}/reviews/."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from catalog.tests.factories import MerchantFactory, ProductFactory
from reviews.models import ReviewReply
from reviews.tests.factories import ReviewFactory
from shop.core.pagecache import reset_local_version

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


def _reply_url(review_or_pk) -> str:
    pk = getattr(review_or_pk, "pk", review_or_pk)
    return f"/api/v1/staff/reviews/{pk}/reply/"


def _client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def ours():
    return MerchantFactory(name="Lamp & Co")


@pytest.fixture
def staff_client(ours):
    user = UserFactory(is_staff=True)
    ours.staff.add(user)
    return _client_for(user)


@pytest.fixture
def review(ours):
    return ReviewFactory(product=ProductFactory(merchant=ours))


def test_staff_reply_once_and_the_reviews_carry_it(
    staff_client, review, api_client, django_capture_on_commit_callbacks
):
    reviews_url = f"/api/v1/products/{review.product_id}/reviews/"
    assert api_client.get(reviews_url).json()["results"][0]["reply"] is None  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            _reply_url(review), {"body": f" Thanks! {XSS} "}, format="json"
        )
    assert response.status_code == 201
    body = response.json()
    assert body == {"body": f"Thanks! {XSS}", "created": body["created"]}

    second = staff_client.post(_reply_url(review), {"body": "Again"}, format="json")
    assert second.status_code == 409 and second.json()["code"] == "already_replied"
    assert ReviewReply.objects.get(review=review).body == f"Thanks! {XSS}"

    reset_local_version()  # another process would see the new version within a second
    listed = api_client.get(reviews_url).json()
    assert listed["results"][0]["reply"] == body  # plain JSON text, as written


def test_another_merchants_review_or_none_is_404(staff_client):
    theirs = ReviewFactory(product=ProductFactory(merchant=MerchantFactory()))
    for pk in (theirs.pk, 999_999_999, 99_999_999_999_999_999_999):
        response = staff_client.post(_reply_url(pk), {"body": "Hi"}, format="json")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert not ReviewReply.objects.exists()


@pytest.mark.parametrize(
    "body", [{}, {"body": ""}, {"body": "  "}, {"body": 5}, {"body": "x" * 2001}]
)
def test_bad_body_is_400(staff_client, review, body):
    response = staff_client.post(_reply_url(review), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "body" in response.json()["fields"]
    assert not ReviewReply.objects.exists()


@pytest.mark.parametrize("who", ["shopper", "author", "superuser"])
def test_not_merchant_staff_is_403(review, who):
    user = {
        "shopper": lambda: UserFactory(),
        "author": lambda: review.author,
        "superuser": lambda: UserFactory(is_staff=True, is_superuser=True),
    }[who]()
    response = _client_for(user).post(_reply_url(review), {"body": "Hi"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "not_merchant_staff"
    assert not ReviewReply.objects.exists()


def test_anonymous_is_401(api_client, review):
    response = api_client.post(_reply_url(review), {"body": "Hi"}, format="json")
    assert response.status_code == 401
    assert not ReviewReply.objects.exists()


def test_reviews_without_reply_carry_null(api_client, review):
    listed = api_client.get(f"/api/v1/products/{review.product_id}/reviews/").json()
    assert listed["results"][0]["reply"] is None
