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
def test_final_states_go_nowhere(status):
    if status in (S.CANCELLED, S.REFUNDED):
        assert transitions.ALLOWED[status] == frozenset()
    else:
        assert transitions.ALLOWED[status]


@pytest.mark.parametrize("status", S.values)
def test_only_orders_awaiting_payment_are_cancellable_until_payments_exist(status):
    assert Order(status=status).is_cancellable is (status == S.PENDING_PAYMENT)
