from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.tests.factories import UserFactory
from catalog.filters import ProductFilter
from catalog.models import Product
from catalog.selectors import product_list
from catalog.tests.factories import CategoryFactory, ProductFactory
from orders.tests.factories import place_order
from reviews import services
from reviews.errors import AlreadyReviewed, NotPurchased
from reviews.models import Review
from reviews.tests.factories import ReviewFactory, buy

pytestmark = pytest.mark.django_db


def test_a_buyer_with_a_paid_order_may_review():
    user, product = UserFactory(), ProductFactory()
    buy(user=user, product=product)
    review = services.review_create(user=user, product=product, rating=4, title="Nice")
    assert review.status == Review.Status.PUBLISHED


def test_an_unpaid_order_is_not_enough():
    user, product = UserFactory(), ProductFactory()
    place_order(user=user, items=[(product.variants.first(), 1)])
    with pytest.raises(NotPurchased) as exc:
        services.review_create(user=user, product=product, rating=4, title="Nice")
    assert exc.value.code == "not_purchased" and exc.value.status_code == 403


def test_one_review_per_user_and_product():
    user, product = UserFactory(), ProductFactory()
    buy(user=user, product=product)
    services.review_create(user=user, product=product, rating=4, title="Nice")
    with pytest.raises(AlreadyReviewed) as exc:
        services.review_create(user=user, product=product, rating=5, title="Again")
    assert exc.value.code == "already_reviewed" and exc.value.status_code == 409


@pytest.mark.parametrize("rating", [0, 6, "5", 4.5, True])
def test_rating_must_be_a_whole_number_from_one_to_five(rating):
    user, product = UserFactory(), ProductFactory()
    buy(user=user, product=product)
    with pytest.raises(ValidationError) as exc:
        services.review_create(user=user, product=product, rating=rating, title="x")
    assert "rating" in exc.value.message_dict


def test_approval_setting_holds_new_reviews(settings):
    settings.REVIEWS_REQUIRE_APPROVAL = True
    user, product = UserFactory(), ProductFactory()
    buy(user=user, product=product)
    review = services.review_create(user=user, product=product, rating=4, title="Nice")
    assert review.status == Review.Status.PENDING


def test_recompute_counts_published_reviews_only_and_follows_hide_and_restore():
    product = ProductFactory()
    ratings = [5, 4, 4, 2, 1]
    reviews = [ReviewFactory(product=product, rating=r) for r in ratings]
    ReviewFactory(product=product, rating=5, status=Review.Status.PENDING)

    services.product_rating_recompute(product_ids=[product.pk])
    product.refresh_from_db()
    assert product.rating_count == 5
    assert product.rating_avg == Decimal("3.20")
    assert product.rating_histogram == {"1": 1, "2": 1, "3": 0, "4": 2, "5": 1}

    reviews[-1].status = Review.Status.HIDDEN
    reviews[-1].save()
    services.product_rating_recompute(product_ids=[product.pk])
    product.refresh_from_db()
    assert (product.rating_count, product.rating_avg) == (4, Decimal("3.75"))

    reviews[-1].status = Review.Status.PUBLISHED
    reviews[-1].save()
    services.product_rating_recompute(product_ids=[product.pk])
    product.refresh_from_db()
    assert (product.rating_count, product.rating_avg) == (5, Decimal("3.20"))


def test_a_product_without_reviews_has_zero_figures():
    product = ProductFactory()
    ReviewFactory(product=product, rating=5, status=Review.Status.HIDDEN)
    services.product_rating_recompute(product_ids=[product.pk])
    product.refresh_from_db()
    assert (product.rating_count, product.rating_avg, product.rating_score) == (0, 0, 0)


def test_bayesian_order_puts_many_good_reviews_above_one_perfect_one():
    category = CategoryFactory()
    lone = ProductFactory(category=category, name="One perfect review")
    loved = ProductFactory(category=category, name="Two hundred good reviews")
    ReviewFactory(product=lone, rating=5)
    Review.objects.bulk_create(
        [
            Review(product=loved, author=UserFactory(), rating=5 if i % 5 else 4, title="t")
            for i in range(200)
        ]
    )  # 4.8 on average
    services.product_rating_recompute()

    loved.refresh_from_db()
    lone.refresh_from_db()
    assert loved.rating_avg == Decimal("4.80") and lone.rating_avg == Decimal("5.00")
    ordered = ProductFilter({"ordering": "-rating"}, queryset=product_list()).qs
    assert [p.name for p in ordered][:2] == [loved.name, lone.name]


def test_a_burst_of_requests_queues_one_recomputation(monkeypatch):
    from reviews.tasks import product_rating_recompute_task

    queued = []
    monkeypatch.setattr(
        product_rating_recompute_task, "apply_async", lambda **kw: queued.append(kw)
    )
    product = ProductFactory()
    results = [services.rating_recompute_request(product_id=product.pk) for _ in range(1000)]
    assert results.count(True) == 1 and len(queued) == 1
    assert queued[0]["kwargs"] == {"product_id": product.pk}

    # The task clears the pending mark before it reads, so a later review queues again.
    product_rating_recompute_task(product_id=product.pk)
    assert services.rating_recompute_request(product_id=product.pk) is True
    assert len(queued) == 2


def test_review_create_requests_a_recompute_after_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    requested = []
    monkeypatch.setattr(services, "rating_recompute_request", lambda **kw: requested.append(kw))
    user, product = UserFactory(), ProductFactory()
    buy(user=user, product=product)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_create(user=user, product=product, rating=4, title="Nice")
    assert requested == [{"product_id": product.pk}]
    assert Product.objects.get(pk=product.pk).rating_count == 0  # the task does the figures
