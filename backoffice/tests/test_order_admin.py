"""The orders admin: read-mostly for the shop's staff, scoped for merchant staff."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.services import MERCHANTS_GROUP
from catalog.tests.factories import MerchantFactory, ProductFactory, VariantFactory
from orders.models import Order, OrderEvent
from orders.tests.factories import place_order
from payments.services.cancel import order_cancel

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:orders_order_changelist")


def _change(order):
    return reverse("admin:orders_order_change", args=[order.pk])


@pytest.fixture
def merchant_a():
    return MerchantFactory(name="Alpha Goods")


@pytest.fixture
def merchant_b():
    return MerchantFactory(name="Beta Supply")


def _variant(merchant, sku):
    return VariantFactory(product=ProductFactory(merchant=merchant, variants=0), sku=sku)


@pytest.fixture
def orders(merchant_a, merchant_b):
    lamp = _variant(merchant_a, "A-LAMP")
    kettle = _variant(merchant_b, "B-KETTLE")
    mixed = place_order(user=UserFactory(email="mixed@example.com"), items=[(lamp, 1), (kettle, 1)])
    only_b = place_order(user=UserFactory(email="onlyb@example.com"), items=[(kettle, 2)])
    return {"mixed": mixed, "only_b": only_b}


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def staff_a_client(client, merchant_a):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=MERCHANTS_GROUP))
    merchant_a.staff.add(user)
    client.force_login(user)
    return client


def test_merchants_group_may_view_orders_and_lines_only():
    group = Group.objects.get(name=MERCHANTS_GROUP)
    codenames = set(
        group.permissions.filter(content_type__app_label="orders").values_list(
            "codename", flat=True
        )
    )
    assert codenames == {"view_order", "view_orderline"}


def test_superuser_sees_every_order_and_searches_by_number_and_email(superuser_client, orders):
    response = superuser_client.get(CHANGELIST)
    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == set(orders.values())

    by_number = superuser_client.get(CHANGELIST, {"q": orders["mixed"].number})
    assert list(by_number.context["cl"].result_list) == [orders["mixed"]]
    by_email = superuser_client.get(CHANGELIST, {"q": "onlyb@"})
    assert list(by_email.context["cl"].result_list) == [orders["only_b"]]


def test_filter_by_status(superuser_client, orders):
    order_cancel(order_id=orders["only_b"].pk)
    response = superuser_client.get(CHANGELIST, {"status__exact": "cancelled"})
    assert list(response.context["cl"].result_list) == [orders["only_b"]]


def test_change_page_shows_lines_and_events_read_only(superuser_client, orders):
    response = superuser_client.get(_change(orders["mixed"]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "A-LAMP" in content and "B-KETTLE" in content
    assert "Placed" in content  # the event row
    assert 'name="status"' not in content  # read-only: no input to change it
    # Even a crafted POST changes nothing: every order field is read-only.
    superuser_client.post(_change(orders["mixed"]), {"status": "paid", "_save": "Save"})
    orders["mixed"].refresh_from_db()
    assert orders["mixed"].status == Order.Status.PENDING_PAYMENT


def test_no_adding_or_deleting_orders(superuser_client, orders):
    assert superuser_client.get(reverse("admin:orders_order_add")).status_code == 403
    delete = reverse("admin:orders_order_delete", args=[orders["mixed"].pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    assert Order.objects.count() == 2


def test_cancel_action_cancels_through_the_service(superuser_client, orders):
    Order.objects.filter(pk=orders["only_b"].pk).update(
        status=Order.Status.SHIPPED, fulfilment_status=Order.FulfilmentStatus.SHIPPED
    )
    response = superuser_client.post(
        CHANGELIST,
        {
            "action": "cancel_selected",
            "_selected_action": [orders["mixed"].pk, orders["only_b"].pk],
        },
        follow=True,
    )
    content = response.content.decode()
    assert "1 order cancelled." in content
    assert orders["only_b"].number in content  # named as not cancellable
    orders["mixed"].refresh_from_db()
    orders["only_b"].refresh_from_db()
    assert orders["mixed"].status == Order.Status.CANCELLED
    assert orders["only_b"].status == Order.Status.SHIPPED
    assert OrderEvent.objects.filter(order=orders["mixed"], to_status="cancelled").exists()
    lamp = orders["mixed"].lines.get(sku="A-LAMP").variant
    assert lamp.reserved == 0


def test_merchant_staff_see_only_orders_with_their_lines(staff_a_client, orders):
    response = staff_a_client.get(CHANGELIST)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [orders["mixed"]]
    assert "cancel_selected" not in response.content.decode()  # view-only staff


def test_merchant_staff_see_only_their_own_lines(staff_a_client, orders):
    response = staff_a_client.get(_change(orders["mixed"]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "A-LAMP" in content
    assert "B-KETTLE" not in content
    # Totals include the other merchant's lines.
    assert str(orders["mixed"].total_amount) not in content


def test_another_merchants_order_is_a_404(staff_a_client, orders):
    assert staff_a_client.get(_change(orders["only_b"])).status_code == 404
    assert (
        staff_a_client.get(reverse("admin:orders_order_change", args=[999_999])).status_code == 404
    )


def test_merchant_staff_cannot_cancel(staff_a_client, orders):
    staff_a_client.post(
        CHANGELIST, {"action": "cancel_selected", "_selected_action": [orders["mixed"].pk]}
    )
    orders["mixed"].refresh_from_db()
    assert orders["mixed"].status == Order.Status.PENDING_PAYMENT
