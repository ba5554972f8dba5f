"""Reviews in the admin. Moderation (actions and the status field, through
review_set_status) is for superusers and the Moderators group; merchant staff see the
reviews of their own products and reply to them (review_reply_create), never hide one."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.models import Product
from catalog.services import MERCHANTS_GROUP
from catalog.tests.factories import MerchantFactory, ProductFactory
from reviews.models import Review, ReviewReply
from reviews.services import MODERATORS_GROUP, product_rating_recompute
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:reviews_review_changelist")
XSS = "<script>alert(1)</script>"


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


def _group_codenames(group: str) -> set[str]:
    return set(
        Permission.objects.filter(group__name=group, content_type__app_label="reviews").values_list(
            "codename", flat=True
        )
    )


def test_merchants_group_may_only_view_reviews():
    # change_review let a merchant hide the reviews of its own products.
    assert _group_codenames(MERCHANTS_GROUP) == {"view_review"}


def test_moderators_group_moderates():
    assert _group_codenames(MODERATORS_GROUP) == {"view_review", "moderate_review"}


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


def test_merchant_staff_see_only_their_products_reviews(client, staff, ours):
    mine = ReviewFactory(product=ProductFactory(merchant=ours), title="Mine")
    theirs = ReviewFactory(product=ProductFactory(merchant=MerchantFactory()), title="Theirs")
    client.force_login(staff)

    result = client.get(CHANGELIST).context["cl"].result_list
    assert list(result) == [mine]
    assert client.get(_change_url(mine)).status_code == 200
    assert client.get(_change_url(theirs)).status_code == 404
    assert client.post(_change_url(theirs), {"status": "hidden"}).status_code == 404
    assert client.get(reverse("admin:reviews_review_history", args=[theirs.pk])).status_code == 404


@pytest.mark.parametrize(
    "status", [Review.Status.PUBLISHED, Review.Status.PENDING, Review.Status.HIDDEN]
)
def test_merchant_staff_cannot_moderate_their_products_reviews_by_any_admin_path(
    client, staff, ours, status
):
    review = ReviewFactory(product=ProductFactory(merchant=ours), status=status)
    others = [s for s in Review.Status.values if s != status]
    client.force_login(staff)

    changelist = client.get(CHANGELIST).content.decode()
    assert "hide_selected" not in changelist and "publish_selected" not in changelist
    for action in ("hide_selected", "publish_selected"):
        client.post(CHANGELIST, {"action": action, "_selected_action": [review.pk]})
    page = client.get(_change_url(review)).content.decode()
    assert 'name="status"' not in page  # the page shows the review, nothing to save
    for other in others:
        assert client.post(_change_url(review), {"status": other}).status_code == 403
    assert Review.objects.get(pk=review.pk).status == status


def test_a_moderator_who_staffs_the_merchant_cannot_moderate_its_reviews(client, staff, ours):
    staff.groups.add(Group.objects.get(name=MODERATORS_GROUP))
    mine = ReviewFactory(product=ProductFactory(merchant=ours))
    theirs = ReviewFactory(product=ProductFactory(merchant=MerchantFactory()))
    client.force_login(staff)

    response = client.post(
        CHANGELIST,
        {"action": "hide_selected", "_selected_action": [mine.pk, theirs.pk]},
        follow=True,
    )
    assert "1 review hidden." in response.content.decode()
    assert Review.objects.get(pk=mine.pk).status == Review.Status.PUBLISHED
    assert Review.objects.get(pk=theirs.pk).status == Review.Status.HIDDEN
    assert client.post(_change_url(mine), {"status": "hidden"}).status_code == 403
    assert Review.objects.get(pk=mine.pk).status == Review.Status.PUBLISHED


def test_moderators_see_every_review_and_moderate(client):
    moderator = UserFactory(is_staff=True)
    moderator.groups.add(Group.objects.get(name=MODERATORS_GROUP))
    first = ReviewFactory(product=ProductFactory(merchant=MerchantFactory()))
    second = ReviewFactory(product=ProductFactory(merchant=MerchantFactory()))
    client.force_login(moderator)

    assert set(client.get(CHANGELIST).context["cl"].result_list) == {first, second}
    client.post(CHANGELIST, {"action": "hide_selected", "_selected_action": [first.pk]})
    assert Review.objects.get(pk=first.pk).status == Review.Status.HIDDEN
    assert client.post(_change_url(second), {"status": "pending"}).status_code == 302
    assert Review.objects.get(pk=second.pk).status == Review.Status.PENDING


# --- replies -------------------------------------------------------------------------------


def _reply_url(review) -> str:
    return reverse("admin:reviews_review_reply", args=[review.pk])


def test_merchant_staff_reply_once_from_the_review_page(client, staff, ours):
    review = ReviewFactory(product=ProductFactory(merchant=ours))
    client.force_login(staff)

    page = client.get(_change_url(review)).content.decode()
    assert f'action="{_reply_url(review)}"' in page
    response = client.post(_reply_url(review), {"body": f"Thank you! {XSS}"}, follow=True)
    content = response.content.decode()
    assert "Your reply is published." in content
    assert XSS not in content and "Thank you! &lt;script&gt;" in content  # shown, escaped
    reply = ReviewReply.objects.get(review=review)
    assert (reply.author, reply.body) == (staff, f"Thank you! {XSS}")
    assert f'action="{_reply_url(review)}"' not in content  # no second form

    response = client.post(_reply_url(review), {"body": "Again"}, follow=True)
    assert "a review gets one reply" in response.content.decode()
    assert ReviewReply.objects.filter(review=review).count() == 1


def test_reply_form_errors_are_shown(client, staff, ours):
    review = ReviewFactory(product=ProductFactory(merchant=ours))
    client.force_login(staff)
    response = client.post(_reply_url(review), {"body": "   "})
    assert response.status_code == 200
    assert response.context["form"].errors["body"]
    assert not ReviewReply.objects.exists()


def test_no_reply_to_another_merchants_review_nor_by_platform_staff(client, staff, superuser):
    theirs = ReviewFactory(product=ProductFactory(merchant=MerchantFactory()))
    client.force_login(staff)
    assert client.post(_reply_url(theirs), {"body": "Hi"}).status_code == 404

    # A reply speaks for the merchant: the platform's staff moderate instead.
    client.force_login(superuser)
    assert 'name="body"' not in client.get(_change_url(theirs)).content.decode()
    client.post(_reply_url(theirs), {"body": "Hi"})
    assert not ReviewReply.objects.exists()


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
