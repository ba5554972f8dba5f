"""Rating recomputation with a real Celery worker (a subprocess on the test database and
Redis; fixtures in tests/conftest.py). Reviews are written through the service, which
queues the recomputation on commit; nothing is run in-process. A burst of 1,000 reviews of
one product must be folded into far fewer runs, and the figures must end exact."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from orders.models import Order, OrderLine
from reviews import services
from reviews.models import Review
from shop.core.marks import mark_exists
from shop.core.models import PendingMark

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BURST = 1000
RATINGS = [5, 5, 4, 3, 5, 1, 4, 2, 5, 4]  # 3.8 on average, every star present
SETTLE_TIMEOUT = 30
# "Within seconds" of a moderation change: the coalescing delay plus one run, not a
# nightly repair. The deadline of the poll that waits for the figures.
FOLLOWS_WITHIN = 10


def paid_buyers(product: Product, count: int, *, tag: str) -> list:
    """`count` users, each with a paid order holding `product`'s variant, written in bulk
    (review eligibility reads only paid order lines; buying through checkout is tested in
    reviews/tests)."""
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(email=f"{tag}-{i}@buyers.example", password="!") for i in range(count)]
    )
    variant = product.variants.select_related("product__merchant").get()
    price = variant.price_amount
    orders = Order.objects.bulk_create(
        [
            Order(
                user=user,
                email=user.email,
                status=Order.Status.PAID,
                payment_status=Order.PaymentStatus.PAID,
                currency=variant.currency,
                subtotal_amount=price,
                shipping_amount=Decimal("0.00"),
                total_amount=price,
                shipping_method_name="Standard",
                ship_full_name="Buyer",
                ship_line1="1 Main St",
                ship_city="Springfield",
                ship_postal_code="12345",
                ship_country="US",
            )
            for user in users
        ]
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                variant=variant,
                product=product,
                merchant=product.merchant,
                product_name=product.name,
                variant_name=variant.name,
                sku=variant.sku,
                merchant_name=product.merchant.name,
                unit_price_amount=price,
                quantity=1,
                line_total_amount=price,
                currency=variant.currency,
            )
            for order in orders
        ]
    )
    return users


def expected_figures(product: Product) -> dict:
    """What the published reviews say, computed here in Python, not by the service's SQL."""
    ratings = list(
        Review.objects.filter(product=product, status=Review.Status.PUBLISHED).values_list(
            "rating", flat=True
        )
    )
    n, total = len(ratings), sum(ratings)
    weight, mean = settings.RATING_PRIOR_WEIGHT, settings.RATING_PRIOR_MEAN
    return {
        "rating_count": n,
        "rating_avg": (Decimal(total) / n if n else Decimal(0)).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        ),
        "rating_score": ((weight * mean + total) / (weight + n) if n else Decimal(0)).quantize(
            Decimal("0.0001"), ROUND_HALF_UP
        ),
        "rating_histogram": {str(star): ratings.count(star) for star in range(1, 6)},
    }


def current_figures(product: Product) -> dict:
    return Product.objects.filter(pk=product.pk).values(
        "rating_count", "rating_avg", "rating_score", "rating_histogram"
    )[0]


def worker_idle(worker) -> bool:
    """Nothing waiting in the broker, nothing held by the worker (counting countdowns)."""
    from shop.celery import app

    with app.connection_for_write() as connection:
        if connection.default_channel.client.llen("celery"):
            return False
    inspect = app.control.inspect(destination=[worker.name], timeout=1.0)
    for reply in (inspect.active(), inspect.scheduled(), inspect.reserved()):
        if reply is None or any(reply.values()):
            return False
    return True


def test_a_burst_of_1000_reviews_is_recomputed_a_few_times_and_ends_exact(celery_worker, wait_for):
    product = ProductFactory()
    buyers = paid_buyers(product, BURST, tag="burst")
    cache.delete(services.RECOMPUTATIONS_KEY)

    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    started = time.monotonic()  # for the figures printed below (bench notes), not asserted
    with connection.execute_wrapper(record):
        for i, buyer in enumerate(buyers):
            services.review_create(
                user=buyer, product=product, rating=RATINGS[i % len(RATINGS)], title=f"Review {i}"
            )
    burst_seconds = time.monotonic() - started
    # The burst stays a few seconds because each write does only its own work: the
    # purchase check, the insert and the coalescing mark (a one-row upsert in PostgreSQL,
    # so coalescing survives a Redis outage), never the recomputation (the worker's).
    assert len(statements) == 3 * BURST, f"{len(statements)} statements for {BURST} reviews"
    mark = f"INSERT INTO {PendingMark._meta.db_table}"
    other_writes = [
        sql
        for sql in statements
        if not sql.lstrip().startswith(("SELECT", 'INSERT INTO "reviews_review"', mark))
    ]
    assert other_writes == [], other_writes[:3]

    expected = expected_figures(product)
    assert expected["rating_count"] == BURST
    assert expected["rating_avg"] == Decimal("3.80")
    assert expected["rating_histogram"] == {"1": 100, "2": 100, "3": 100, "4": 300, "5": 400}

    def figures_exact():
        """the worker's figures to match the 1,000 reviews"""
        return current_figures(product) == expected

    wait_for(figures_exact, timeout=SETTLE_TIMEOUT, worker=celery_worker)
    settled = time.monotonic() - started

    def idle():
        """the worker to have nothing left to run"""
        return worker_idle(celery_worker)

    wait_for(idle, timeout=SETTLE_TIMEOUT, interval=0.5, worker=celery_worker)
    recomputations = cache.get(services.RECOMPUTATIONS_KEY, 0)
    print(
        f"\n{BURST} reviews in {burst_seconds:.1f} s; figures exact after {settled:.1f} s; "
        f"{recomputations} recomputations"
    )
    assert 1 <= recomputations < 50
    # The worker really ran them (and nothing else did).
    assert "reviews.tasks.product_rating_recompute_task" in celery_worker.log(tail=400)
    # Idle means idle: the figures still say the same, and no run is pending.
    assert current_figures(product) == expected
    assert not mark_exists(key=services.PENDING_MARK.format(product.pk))


def test_hiding_and_restoring_a_review_moves_the_figures_within_seconds(celery_worker, wait_for):
    product = ProductFactory()
    buyers = paid_buyers(product, 3, tag="moderated")
    reviews = [
        services.review_create(user=buyer, product=product, rating=rating, title="t")
        for buyer, rating in zip(buyers, [5, 4, 1], strict=True)
    ]
    all_three = {"rating_count": 3, "rating_avg": Decimal("3.33")}

    def figures(wanted):
        def check():
            current = current_figures(product)
            return all(current[key] == value for key, value in wanted.items())

        check.__doc__ = f"the figures to become {wanted}"
        return check

    wait_for(figures(all_three), timeout=SETTLE_TIMEOUT, worker=celery_worker)
    moderator = get_user_model().objects.create_superuser(email="mod@example.com", password=None)

    # Timed only for the figures printed below (bench notes); the deadline of each poll
    # is what holds them to "within seconds".
    started = time.monotonic()
    services.review_set_status(review_id=reviews[2].pk, status=Review.Status.HIDDEN, by=moderator)
    wait_for(
        figures(
            {
                "rating_count": 2,
                "rating_avg": Decimal("4.50"),
                "rating_histogram": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1},
            }
        ),
        timeout=FOLLOWS_WITHIN,
        worker=celery_worker,
    )
    hidden_after = time.monotonic() - started
    assert current_figures(product) == expected_figures(product)

    started = time.monotonic()
    services.review_set_status(
        review_id=reviews[2].pk, status=Review.Status.PUBLISHED, by=moderator
    )
    wait_for(figures(all_three), timeout=FOLLOWS_WITHIN, worker=celery_worker)
    restored_after = time.monotonic() - started
    assert current_figures(product) == expected_figures(product)
    print(f"\nfigures followed a hide in {hidden_after:.1f} s, a restore in {restored_after:.1f} s")
