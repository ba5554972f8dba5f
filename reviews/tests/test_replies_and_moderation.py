"""The reviews services' guards: moderation is the platform's (review_set_status), a reply
is the merchant's, once (review_reply_create). Every page and the API call these."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounts.tests.factories import UserFactory
from catalog.tests.factories import MerchantFactory, ProductFactory
from reviews import services
from reviews.errors import AlreadyReplied, ModerationNotAllowed, NotMerchantStaff, ReviewNotFound
from reviews.models import Review, ReviewReply
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ours():
    return MerchantFactory()


@pytest.fixture
def staff(ours):
    user = UserFactory(is_staff=True)
    ours.staff.add(user)
    return user


@pytest.fixture
def review(ours):
    return ReviewFactory(product=ProductFactory(merchant=ours))


# --- moderation ----------------------------------------------------------------------------


def test_merchant_staff_cannot_hide_their_products_reviews(staff, review):
    with pytest.raises(ModerationNotAllowed) as exc:
        services.review_set_status(review_id=review.pk, status=Review.Status.HIDDEN, by=staff)
    assert exc.value.status_code == 403
    assert Review.objects.get(pk=review.pk).status == Review.Status.PUBLISHED


def test_even_with_the_permission_a_merchants_staff_never_moderate_its_reviews(staff, review):
    staff.groups.add(Group.objects.get(name=services.MODERATORS_GROUP))
    other = ReviewFactory(product=ProductFactory(merchant=MerchantFactory()))
    with pytest.raises(ModerationNotAllowed):
        services.review_set_status(review_id=review.pk, status=Review.Status.HIDDEN, by=staff)
    services.review_set_status(review_id=other.pk, status=Review.Status.HIDDEN, by=staff)
    assert Review.objects.get(pk=other.pk).status == Review.Status.HIDDEN


@pytest.mark.parametrize("who", ["superuser", "moderator"])
def test_platform_staff_moderate(review, who):
    if who == "superuser":
        user = UserFactory(is_staff=True, is_superuser=True)
    else:
        user = UserFactory(is_staff=True)
        user.groups.add(Group.objects.get(name=services.MODERATORS_GROUP))
    services.review_set_status(review_id=review.pk, status=Review.Status.HIDDEN, by=user)
    assert Review.objects.get(pk=review.pk).status == Review.Status.HIDDEN


def test_shoppers_cannot_moderate(review):
    with pytest.raises(ModerationNotAllowed):
        services.review_set_status(
            review_id=review.pk, status=Review.Status.HIDDEN, by=review.author
        )


# --- replies -------------------------------------------------------------------------------


def test_merchant_staff_reply_once(staff, review, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reply = services.review_reply_create(review_id=review.pk, by=staff, body="  Thanks!\n ")
    assert (reply.review, reply.author, reply.body) == (review, staff, "Thanks!")
    assert callbacks  # cached pages drop their copy once it is committed

    with pytest.raises(AlreadyReplied) as exc:
        services.review_reply_create(review_id=review.pk, by=staff, body="Again")
    assert exc.value.status_code == 409 and exc.value.code == "already_replied"
    assert ReviewReply.objects.get(review=review).body == "Thanks!"


def test_another_merchants_review_is_not_found(staff):
    theirs = ReviewFactory(product=ProductFactory(merchant=MerchantFactory()))
    for review_id in (theirs.pk, 999_999_999, 2**63, 0, -1):
        with pytest.raises(ReviewNotFound) as exc:
            services.review_reply_create(review_id=review_id, by=staff, body="Hi")
        assert exc.value.status_code == 404
    assert not ReviewReply.objects.exists()


@pytest.mark.parametrize("who", ["shopper", "superuser", "moderator"])
def test_only_a_merchants_staff_reply(review, who):
    user = UserFactory(is_staff=who != "shopper", is_superuser=who == "superuser")
    if who == "moderator":
        user.groups.add(Group.objects.get(name=services.MODERATORS_GROUP))
    with pytest.raises(NotMerchantStaff) as exc:
        services.review_reply_create(review_id=review.pk, by=user, body="Hi")
    assert exc.value.status_code == 403
    assert not ReviewReply.objects.exists()


@pytest.mark.parametrize(
    "body", ["", "   ", None, 5, "nul\x00byte", "x" * (services.REPLY_MAX_LENGTH + 1)]
)
def test_reply_body_is_checked(staff, review, body):
    with pytest.raises(ValidationError) as exc:
        services.review_reply_create(review_id=review.pk, by=staff, body=body)
    assert "body" in exc.value.message_dict
    assert not ReviewReply.objects.exists()


def test_the_database_holds_one_reply_per_review(staff, review):
    ReviewReply.objects.create(review=review, author=staff, body="First")
    with pytest.raises(IntegrityError):
        ReviewReply.objects.create(review=review, author=staff, body="Second")


def test_the_database_refuses_an_empty_reply(staff, review):
    with pytest.raises(IntegrityError):
        ReviewReply.objects.create(review=review, author=staff, body="")
