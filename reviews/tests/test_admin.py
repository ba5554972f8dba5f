"""Review moderation in the admin: actions go through review_set_status; merchant staff
see and moderate only the reviews of their own products."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.models import Product
from catalog.services import MERCHANTS_GROUP
from catalog.tests.factories import MerchantFactory, ProductFactory
from reviews.models import Review
from reviews.services import product_rating_recompute
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:reviews_review_changelist")


def _change_url(review) -> str:
    return reverse("admin:reviews_review_change", args=[review.pk])


@pytest.fixture
def ours():
    return MerchantFactory(name="Ours")


@pytest.fixture
def staff(ours):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=MERCHANTS_GROUP))
    ours.staff.add(user)
    return user


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


def test_merchants_group_may_view_and_change_reviews():
    codenames = set(
        Permission.objects.filter(
            group__name=MERCHANTS_GROUP, content_type__app_label="reviews"
        ).values_list("codename", flat=True)
    )
    assert codenames == {"view_review", "change_review"}


def test_changelist_columns_filters_and_search(client, superuser):
    review = ReviewFactory(
        title="Lovely lamp", product__name="Desk lamp", author__email="ada@example.com", rating=4
    )
    ReviewFactory(title="Other", product__name="Kettle")
    client.force_login(superuser)
    html = client.get(CHANGELIST).content.decode()
    for text in ("Lovely lamp", "Desk lamp", "ada@example.com", "Published"):
        assert text in html
    for query in ("Lovely", "Desk", "ada@example"):
        found = client.get(CHANGELIST, {"q": query}).context["cl"].result_list
        assert list(found) == [review]
    assert list(client.get(CHANGELIST, {"rating": 4}).context["cl"].result_list) == [review]
    assert client.get(CHANGELIST, {"status__exact": "hidden"}).context["cl"].result_count == 0


def test_hide_and_publish_actions_move_the_figures(
    client, superuser, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    five, one = ReviewFactory(product=product, rating=5), ReviewFactory(product=product, rating=1)
    product_rating_recompute(product_ids=[product.pk])
    client.force_login(superuser)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            CHANGELIST, {"action": "hide_selected", "_selected_action": [one.pk]}, follow=True
        )
    assert "1 review hidden." in response.content.decode()
    assert callbacks  # a recomputation is requested on commit
    assert Review.objects.get(pk=one.pk).status == Review.Status.HIDDEN
    product_rating_recompute(product_ids=[product.pk])  # what the requested task runs
    product.refresh_from_db()
    assert (product.rating_count, product.rating_avg) == (1, 5)

    client.post(CHANGELIST, {"action": "publish_selected", "_selected_action": [one.pk, five.pk]})
    assert Review.objects.get(pk=one.pk).status == Review.Status.PUBLISHED
    product_rating_recompute(product_ids=[product.pk])
    product.refresh_from_db()
    assert (product.rating_count, product.rating_avg) == (2, 3)


def test_change_form_edits_only_the_status(client, superuser):
    review = ReviewFactory(title="Keep me", rating=2)
    client.force_login(superuser)
    response = client.post(
        _change_url(review), {"status": "hidden", "title": "Changed", "rating": 5}
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.status, review.title, review.rating) == ("hidden", "Keep me", 2)
    assert client.get(reverse("admin:reviews_review_add")).status_code == 403


def test_merchant_staff_see_and_moderate_only_their_products_reviews(client, staff, ours):
    mine = ReviewFactory(product=ProductFactory(merchant=ours), title="Mine")
    theirs = ReviewFactory(product=ProductFactory(merchant=MerchantFactory()), title="Theirs")
    client.force_login(staff)

    result = client.get(CHANGELIST).context["cl"].result_list
    assert list(result) == [mine]
    assert client.get(_change_url(mine)).status_code == 200
    assert client.get(_change_url(theirs)).status_code == 404
    assert client.post(_change_url(theirs), {"status": "hidden"}).status_code == 404

    # An action with another merchant's id selected touches only what the list shows.
    client.post(CHANGELIST, {"action": "hide_selected", "_selected_action": [mine.pk, theirs.pk]})
    assert Review.objects.get(pk=mine.pk).status == Review.Status.HIDDEN
    assert Review.objects.get(pk=theirs.pk).status == Review.Status.PUBLISHED

    assert client.post(_change_url(mine), {"status": "published"}).status_code == 302
    assert Review.objects.get(pk=mine.pk).status == Review.Status.PUBLISHED


def test_merchant_staff_cannot_delete_reviews(client, staff, ours):
    review = ReviewFactory(product=ProductFactory(merchant=ours))
    client.force_login(staff)
    delete_url = reverse("admin:reviews_review_delete", args=[review.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Review.objects.filter(pk=review.pk).exists()


def test_superuser_delete_goes_through_the_service(
    client, superuser, django_capture_on_commit_callbacks
):
    review = ReviewFactory()
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("admin:reviews_review_delete", args=[review.pk]), {"post": "yes"})
    assert not Review.objects.filter(pk=review.pk).exists()
    assert callbacks  # the figures are recomputed
    assert Product.objects.filter(pk=review.product_id).exists()
