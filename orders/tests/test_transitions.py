"""Every move of the order state machine, allowed and refused, against API.md's table."""

import itertools

import pytest

from orders import transitions
from orders.errors import InvalidTransition
from orders.models import Order

S = Order.Status
EXPECTED_ALLOWED = {
    (S.PENDING_PAYMENT, S.PAID),
    (S.PENDING_PAYMENT, S.CANCELLED),
    (S.PAID, S.PARTIALLY_SHIPPED),
    (S.PAID, S.SHIPPED),
    (S.PAID, S.CANCELLED),
    (S.PAID, S.REFUNDED),
    (S.PARTIALLY_SHIPPED, S.SHIPPED),
    (S.PARTIALLY_SHIPPED, S.REFUNDED),
    (S.SHIPPED, S.DELIVERED),
    (S.SHIPPED, S.REFUNDED),
    (S.DELIVERED, S.REFUNDED),
    # A late payment restores a cancelled order when its stock can still be taken.
    (S.CANCELLED, S.PAID),
}
ALL_PAIRS = list(itertools.product(S.values, S.values))


def test_the_table_covers_every_status():
    assert set(transitions.ALLOWED) == set(S.values)


@pytest.mark.parametrize(("current", "to"), sorted(EXPECTED_ALLOWED))
def test_allowed_moves(current, to):
    order = Order(status=current)
    assert transitions.transition(order, to=to) == current
    assert order.status == to


@pytest.mark.parametrize(
    ("current", "to"), [pair for pair in ALL_PAIRS if pair not in EXPECTED_ALLOWED]
)
def test_refused_moves_leave_the_status_alone(current, to):
    order = Order(status=current)
    assert not transitions.can_transition(current, to)
    with pytest.raises(InvalidTransition) as exc:
        transitions.transition(order, to=to)
    assert exc.value.code == "invalid_transition" and exc.value.status_code == 409
    assert order.status == current


@pytest.mark.parametrize("status", S.values)
def test_only_refunded_is_final(status):
    if status == S.REFUNDED:
        assert transitions.ALLOWED[status] == frozenset()
    else:
        assert transitions.ALLOWED[status]


@pytest.mark.parametrize("status", S.values)
def test_awaiting_payment_or_paid_with_nothing_shipped_is_cancellable(status):
    order = Order(status=status, fulfilment_status=Order.FulfilmentStatus.UNFULFILLED)
    assert order.is_cancellable is (status in (S.PENDING_PAYMENT, S.PAID))


def test_a_paid_order_with_something_shipped_is_not_cancellable():
    order = Order(status=S.PAID, fulfilment_status=Order.FulfilmentStatus.PARTIALLY_SHIPPED)
    assert order.is_cancellable is False
