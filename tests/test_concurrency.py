"""Races with real threads on real PostgreSQL: the claims of the orders issue, proven."""

from collections import Counter

import pytest

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog.errors import InsufficientStock
from catalog.models import Variant
from catalog.tests.factories import VariantFactory
from orders.models import Order
from orders.selectors import stock_drift
from orders.services import order_place
from orders.tests.factories import ADDRESS
from shipping.tests.factories import ShippingMethodFactory
from shop.core.testing import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_buyers_racing_for_ten_units_place_exactly_ten_orders():
    variant = VariantFactory(stock=10)
    method = ShippingMethodFactory()
    buyers = [UserFactory() for _ in range(50)]
    for buyer in buyers:
        cart_add_item(user=buyer, variant_id=variant.pk, quantity=1)

    def buy(buyer):
        return lambda: order_place(user=buyer, shipping_method_id=method.pk, address=ADDRESS)

    results = run_together([buy(buyer) for buyer in buyers])

    outcomes = Counter(type(result).__name__ for result in results)
    assert outcomes == {"Order": 10, "InsufficientStock": 40}, outcomes
    assert all(isinstance(r, Order | InsufficientStock) for r in results)
    variant.refresh_from_db()
    assert variant.stock_available == 0
    assert variant.reserved == 10
    assert Order.objects.count() == 10
    assert stock_drift() == []


def test_carts_holding_the_same_variants_in_opposite_orders_never_deadlock():
    first, second = VariantFactory(stock=1000), VariantFactory(stock=1000)
    method = ShippingMethodFactory()
    rounds, pairs = 10, 4
    buyers = [UserFactory() for _ in range(pairs * 2)]

    for _ in range(rounds):
        for index, buyer in enumerate(buyers):
            # Half the carts list the variants one way round, half the other.
            order = (first, second) if index % 2 else (second, first)
            for variant in order:
                cart_add_item(user=buyer, variant_id=variant.pk, quantity=1)
        results = run_together(
            [
                (lambda b=buyer: order_place(user=b, shipping_method_id=method.pk, address=ADDRESS))
                for buyer in buyers
            ]
        )
        failures = [r for r in results if not isinstance(r, Order)]
        assert failures == [], failures  # a deadlock would surface as OperationalError here

    placed = rounds * len(buyers)
    assert Order.objects.count() == placed
    assert list(
        Variant.objects.filter(pk__in=[first.pk, second.pk]).values_list("reserved", flat=True)
    ) == [placed, placed]
    assert stock_drift() == []


def test_product_shows_out_of_stock_once_the_last_unit_is_reserved_and_back_after_release():
    from catalog.tests.factories import ProductFactory
    from payments.services.cancel import order_cancel

    product = ProductFactory(variants__stock=1)
    variant = product.variants.get()
    buyer = UserFactory()
    cart_add_item(user=buyer, variant_id=variant.pk, quantity=1)

    order = order_place(user=buyer, shipping_method_id=ShippingMethodFactory().pk, address=ADDRESS)
    product.refresh_from_db()
    assert product.in_stock is False

    order_cancel(order_id=order.pk, by=buyer)
    product.refresh_from_db()
    assert product.in_stock is True


def test_two_simultaneous_retries_with_one_idempotency_key_place_one_order():
    from shop.core.idempotency import idempotent_call

    buyer = UserFactory()
    variant = VariantFactory(stock=5)
    method = ShippingMethodFactory()
    cart_add_item(user=buyer, variant_id=variant.pk, quantity=2)

    def submit():
        def run():
            order = order_place(user=buyer, shipping_method_id=method.pk, address=ADDRESS)
            return 201, {"number": order.number}

        return idempotent_call(
            user=buyer, scope="orders.create", key="double-click", payload={"m": method.pk}, run=run
        )

    results = run_together([submit, submit, submit])

    assert all(isinstance(r, tuple) for r in results), results
    assert {r[1]["number"] for r in results} == {Order.objects.get().number}
    assert sorted(r[2] for r in results) == [False, True, True]  # one ran, two replayed
    variant.refresh_from_db()
    assert variant.reserved == 2


def test_selling_the_last_unit_of_a_variant_makes_cached_product_pages_stale(settings, client):
    from catalog.tests.factories import ProductFactory
    from catalog.versions import LISTS_STOCK, product_version
    from shop.core.pagecache import reset_local_version, versions_current

    settings.CATALOG_VERSION_TTL = 0
    product = ProductFactory(variants=2, variants__stock=1)
    first = product.variants.order_by("pk").first()
    buyer = UserFactory()
    cart_add_item(user=buyer, variant_id=first.pk, quantity=1)
    reset_local_version()
    page = client.get(product.get_absolute_url())
    assert page.content.decode().count("Out of stock") == 0
    names = [product_version(product.pk), LISTS_STOCK]
    before = versions_current(names)

    order_place(user=buyer, shipping_method_id=ShippingMethodFactory().pk, address=ADDRESS)

    after = versions_current(names)
    # Only this variant crossed zero: its product's pages are stale; the product still sells
    # (the other variant), so lists of products in stock are not.
    assert after[names[0]] != before.get(names[0])
    assert after.get(LISTS_STOCK) == before.get(LISTS_STOCK)
    assert "Out of stock" in client.get(product.get_absolute_url()).content.decode()


def test_a_retry_waiting_on_a_first_attempt_that_fails_does_the_work_itself():
    # The key is claimed with INSERT ... ON CONFLICT DO NOTHING: the retry must wait for
    # the first attempt's transaction, and when that one rolls back, claim the key and run.
    import threading
    import time

    from shop.core.errors import ConflictError
    from shop.core.idempotency import idempotent_call
    from shop.core.models import IdempotencyKey

    buyer = UserFactory()
    claimed = threading.Event()

    def first():
        def run():
            claimed.set()
            time.sleep(0.5)  # the retry arrives and waits on the key meanwhile
            raise ConflictError("out of stock, say")

        return idempotent_call(user=buyer, scope="s", key="k", payload={}, run=run)

    def retry():
        assert claimed.wait(timeout=30)
        started = time.monotonic()
        result = idempotent_call(
            user=buyer, scope="s", key="k", payload={}, run=lambda: (201, {"by": "retry"})
        )
        return result, time.monotonic() - started

    failed, (answer, waited) = run_together([first, retry])

    assert isinstance(failed, ConflictError)
    assert answer == (201, {"by": "retry"}, False)  # it ran: nothing was stored to replay
    assert waited > 0.2  # it waited for the first attempt rather than racing past it
    assert IdempotencyKey.objects.get().response_body == {"by": "retry"}
