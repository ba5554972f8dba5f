import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import VariantFactory
from orders.models import Order
from orders.selectors import order_get_for_customer, order_list_for_customer
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db


def _orders(user, orders, lines):
    variants = VariantFactory.create_batch(lines, stock=100)
    return [place_order(user=user, items=[(v, 1) for v in variants]) for _ in range(orders)]


def test_list_is_own_orders_newest_first():
    user = UserFactory()
    first, second = _orders(user, orders=2, lines=1)
    _orders(UserFactory(), orders=1, lines=1)
    assert list(order_list_for_customer(user=user)) == [second, first]


def test_list_reads_orders_and_lines_in_two_queries(django_assert_num_queries):
    user = UserFactory()
    _orders(user, orders=2, lines=1)
    with django_assert_num_queries(2):
        assert [len(o.lines.all()) for o in order_list_for_customer(user=user)] == [1, 1]
    _orders(user, orders=6, lines=3)
    with django_assert_num_queries(2):
        orders = list(order_list_for_customer(user=user))
        assert sum(len(o.lines.all()) for o in orders) == 2 + 6 * 3


def test_get_returns_own_order_with_lines_and_refuses_others(django_assert_num_queries):
    user = UserFactory()
    (mine,) = _orders(user, orders=1, lines=3)
    (theirs,) = _orders(UserFactory(), orders=1, lines=1)
    with django_assert_num_queries(2):
        order = order_get_for_customer(user=user, number=mine.number)
        assert [line.id for line in order.lines.all()] == sorted(
            line.id for line in order.lines.all()
        )
    with pytest.raises(Order.DoesNotExist):
        order_get_for_customer(user=user, number=theirs.number)
