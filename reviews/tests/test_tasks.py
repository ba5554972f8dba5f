"""The Celery tasks of reviews, called directly (a worker runs them the same way; the
real-worker test is tests/test_reviews_worker.py)."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection

from catalog.models import Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from reviews import services
from reviews.models import BoughtTogether, Review
from reviews.recommendations import recommendations_for_product
from reviews.tasks import (
    product_rating_recompute_task,
    product_ratings_recompute_all_task,
    recommendations_compute_task,
)
from reviews.tests.factories import ReviewFactory
from reviews.tests.test_recommendations import _paid_order_of
from shop.core.marks import mark_add, mark_exists

pytestmark = pytest.mark.django_db


def _figures(product: Product) -> tuple:
    product.refresh_from_db()
    return (
        product.rating_count,
        product.rating_avg,
        product.rating_score,
        product.rating_histogram,
    )


def _recomputations() -> int:
    return cache.get(services.RECOMPUTATIONS_KEY, 0)


def test_recompute_task_clears_the_pending_mark_and_writes_exact_figures():
    product = ProductFactory()
    for rating in (5, 5, 4, 3, 1, 1, 2):
        ReviewFactory(product=product, rating=rating)
    ReviewFactory(product=product, rating=5, status=Review.Status.HIDDEN)
    ReviewFactory(product=product, rating=5, status=Review.Status.PENDING)
    other = ProductFactory()
    ReviewFactory(product=other, rating=5)
    pending_key = services.PENDING_MARK.format(product.pk)
    # What rating_recompute_request leaves while the run waits.
    assert mark_add(key=pending_key, seconds=60)

    assert product_rating_recompute_task(product_id=product.pk) == 1

    assert not mark_exists(key=pending_key)  # the next review queues a new run
    # 7 published reviews totalling 21: avg 3.00; score (10 * 3.0 + 21) / (10 + 7) = 3.0
    assert _figures(product) == (
        7,
        Decimal("3.00"),
        Decimal("3.0000"),
        {"1": 2, "2": 1, "3": 1, "4": 1, "5": 2},
    )
    # Only the product asked for was touched.
    assert _figures(other)[0] == 0
    assert _recomputations() == 1


def test_recompute_task_score_is_the_bayesian_average(settings):
    settings.RATING_PRIOR_MEAN = Decimal("3.0")
    settings.RATING_PRIOR_WEIGHT = 10
    product = ProductFactory()
    for rating in (5, 5, 4):
        ReviewFactory(product=product, rating=rating)

    product_rating_recompute_task(product_id=product.pk)

    # (10 * 3.0 + 14) / 13 = 3.384615...
    count, avg, score, _ = _figures(product)
    assert (count, avg, score) == (3, Decimal("4.67"), Decimal("3.3846"))


def test_a_request_after_the_run_started_queues_another_run(monkeypatch):
    queued = []
    monkeypatch.setattr(
        product_rating_recompute_task, "apply_async", lambda **kw: queued.append(kw)
    )
    product = ProductFactory()
    assert services.rating_recompute_request(product_id=product.pk) is True
    assert services.rating_recompute_request(product_id=product.pk) is False  # folded in

    product_rating_recompute_task(product_id=product.pk)

    assert services.rating_recompute_request(product_id=product.pk) is True
    assert [kw["kwargs"] for kw in queued] == [{"product_id": product.pk}] * 2
    assert queued[0]["countdown"] == services.RECOMPUTE_DELAY_SECONDS


def test_recompute_all_task_repairs_drift():
    kettle, mug, untouched = ProductFactory(), ProductFactory(), ProductFactory()
    for rating in (4, 2):
        ReviewFactory(product=kettle, rating=rating)
    ReviewFactory(product=mug, rating=5)
    product_ratings_recompute_all_task()
    right = {p.pk: _figures(p) for p in (kettle, mug, untouched)}
    assert right[kettle.pk][:2] == (2, Decimal("3.00"))

    # Drift: figures that no longer say what the reviews say (a lost task, a manual edit,
    # a review removed by a raw DELETE).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE catalog_product SET rating_count = 99, rating_avg = 1.10,"
            " rating_score = 4.9, rating_histogram = '{\"1\": 99}' WHERE id = %s",
            [kettle.pk],
        )
        cursor.execute(
            "UPDATE catalog_product SET rating_count = 7, rating_avg = 4.00 WHERE id = %s",
            [untouched.pk],
        )
    assert _figures(kettle)[0] == 99

    updated = product_ratings_recompute_all_task()

    assert updated == 2  # only the drifted rows are written (and their pages made stale)
    assert {p.pk: _figures(p) for p in (kettle, mug, untouched)} == right
    assert _figures(untouched) == (0, Decimal("0.00"), Decimal("0.0000"), right[untouched.pk][3])


def test_recommendations_task_fills_the_table_from_paid_orders():
    kitchen = CategoryFactory()
    kettle, mug, tea = (ProductFactory(category=kitchen, name=n) for n in ["Kettle", "Mug", "Tea"])
    _paid_order_of(kettle, mug, tea)
    _paid_order_of(kettle, mug)
    BoughtTogether.objects.create(product=tea, other=kettle, orders=500)  # stale: replaced

    rows = recommendations_compute_task()

    # Ordered pairs: kettle-mug, mug-kettle (2 orders each), and the four with tea (1 each).
    assert rows == 6 == BoughtTogether.objects.count()
    pairs = {
        (bt.product.name, bt.other.name): bt.orders
        for bt in BoughtTogether.objects.select_related("product", "other")
    }
    assert pairs[("Kettle", "Mug")] == pairs[("Mug", "Kettle")] == 2
    assert pairs[("Tea", "Kettle")] == 1
    assert [p.name for p in recommendations_for_product(product=kettle)] == ["Mug", "Tea"]

    # Run again: the same table, not doubled.
    assert recommendations_compute_task() == 6 == BoughtTogether.objects.count()
