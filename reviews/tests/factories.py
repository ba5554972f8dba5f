import factory

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from orders.models import Order
from orders.tests.factories import place_order
from reviews.models import Review


def buy(*, user, product, quantity: int = 1) -> Order:
    """A paid order for `product`, made as a shopper makes one: cart, order, a sandbox
    payment and its signed callback applied. Then `user` may review the product."""
    from django.conf import settings

    from payments.services.webhooks import webhook_event_apply
    from payments.tests.factories import deliver_sandbox_event, start_sandbox_payment

    order = place_order(user=user, items=[(product.variants.first(), quantity)])
    payment = start_sandbox_payment(order)
    event = deliver_sandbox_event(payment, succeeded=True, settings=settings)
    webhook_event_apply(event_pk=event.pk)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


class ReviewFactory(factory.django.DjangoModelFactory):
    """A review row written directly (for figures); eligibility is tested via the service."""

    class Meta:
        model = Review

    product = factory.SubFactory(ProductFactory)
    author = factory.SubFactory(UserFactory)
    rating = 5
    title = factory.Sequence(lambda n: f"Review {n}")
    body = "Good."
