"""Payments admin: read-only records, staff refunds through refund_request, re-apply."""

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.tests.factories import MerchantFactory, VariantFactory
from orders.tests.factories import place_order
from payments.models import Payment, Refund, WebhookEvent
from payments.services.webhooks import webhook_event_apply
from payments.tests.factories import deliver_sandbox_event, start_sandbox_payment

pytestmark = pytest.mark.django_db

PAYMENTS = reverse("admin:payments_payment_changelist")
EVENTS = reverse("admin:payments_webhookevent_changelist")
REFUNDS = reverse("admin:payments_refund_changelist")


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def paid(settings):
    """A captured payment of an order with two lines: 2 x 10.00 and 1 x 7.50 (+4.90)."""
    order = place_order(
        user=UserFactory(),
        items=[
            (VariantFactory(price_amount=Decimal("10.00")), 2),
            (VariantFactory(price_amount=Decimal("7.50")), 1),
        ],
    )
    payment = start_sandbox_payment(order)
    webhook_event_apply(
        event_pk=deliver_sandbox_event(payment, succeeded=True, settings=settings).pk
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    return payment


def _refund_url(payment) -> str:
    return reverse("admin:payments_payment_refund", args=[payment.pk])


def _refund(client, payment, **data):
    data.setdefault("idempotency_key", str(uuid.uuid4()))
    return client.post(_refund_url(payment), data)


def test_refund_action_leads_to_the_form_of_that_payment(superuser_client, paid):
    response = superuser_client.post(
        PAYMENTS, {"action": "refund_part", "_selected_action": [paid.pk]}
    )

    assert response.status_code == 302
    assert response["Location"] == _refund_url(paid)
    page = superuser_client.get(_refund_url(paid)).content.decode()
    assert "Refundable now: 32.40" in page
    for line in paid.order.lines.all():
        assert f'value="{line.pk}"' in page


def test_refund_action_wants_exactly_one_payment(superuser_client, paid, settings):
    other = start_sandbox_payment(place_order(user=UserFactory(), items=[(VariantFactory(), 1)]))
    response = superuser_client.post(
        PAYMENTS, {"action": "refund_part", "_selected_action": [paid.pk, other.pk]}, follow=True
    )

    assert "Choose exactly one payment to refund." in response.content.decode()


def test_partial_refund_by_amount_creates_a_pending_refund(
    superuser_client, paid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _refund(superuser_client, paid, amount="5.00", reason="Scratched box")

    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.payment, refund.amount, refund.status) == (
        paid,
        Decimal("5.00"),
        Refund.Status.PENDING,
    )
    assert refund.reason == "Scratched box"
    assert refund.created_by.is_superuser
    assert len(callbacks) == 1  # refund_execute_task, queued once this commits


def test_partial_refund_by_lines_refunds_their_line_totals(superuser_client, paid):
    line = paid.order.lines.get(unit_price_amount=Decimal("10.00"))

    _refund(superuser_client, paid, lines=[line.pk])

    assert Refund.objects.get().amount == Decimal("20.00")


def test_refund_larger_than_refundable_is_a_form_error(superuser_client, paid):
    response = _refund(superuser_client, paid, amount="32.41")

    assert response.status_code == 200
    assert "At most 32.40 can be refunded" in response.content.decode()
    assert not Refund.objects.exists()


def test_refunds_in_flight_count_against_what_is_left(superuser_client, paid):
    _refund(superuser_client, paid, amount="30.00")
    response = _refund(superuser_client, paid, amount="5.00")

    assert response.status_code == 200
    assert "At most 2.40 can be refunded" in response.content.decode()
    assert Refund.objects.count() == 1


def test_amount_and_lines_together_is_a_form_error(superuser_client, paid):
    line = paid.order.lines.first()

    response = _refund(superuser_client, paid, amount="1.00", lines=[line.pk])

    assert "Give either an amount or the lines to refund." in response.content.decode()
    assert not Refund.objects.exists()


def test_lines_of_another_order_are_refused(superuser_client, paid):
    other = place_order(user=UserFactory(), items=[(VariantFactory(), 1)])

    response = _refund(superuser_client, paid, lines=[other.lines.get().pk])

    assert response.status_code == 200
    assert not Refund.objects.exists()


def test_the_same_form_submitted_twice_refunds_once(superuser_client, paid):
    key = str(uuid.uuid4())
    _refund(superuser_client, paid, amount="5.00", idempotency_key=key)
    _refund(superuser_client, paid, amount="5.00", idempotency_key=key)

    assert Refund.objects.count() == 1


def test_payment_change_page_is_read_only_with_money_events_and_refunds(superuser_client, paid):
    _refund(superuser_client, paid, amount="5.00", reason="Scratched box")
    url = reverse("admin:payments_payment_change", args=[paid.pk])

    page = superuser_client.get(url).content.decode()

    assert "32.40 USD" in page  # captured, derived from its money event
    assert "Scratched box" in page  # the pending refund's inline row
    assert WebhookEvent.objects.get(payment=paid).event_id in page  # the capture's source
    assert 'name="_save"' not in page
    assert superuser_client.post(url, {"status": "refunded"}).status_code == 403
    paid.refresh_from_db()
    assert paid.status == Payment.Status.CAPTURED
    assert superuser_client.get(reverse("admin:payments_payment_add")).status_code == 403
    delete = reverse("admin:payments_payment_delete", args=[paid.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403


def test_payments_search_by_order_number_and_reference(superuser_client, paid):
    other = start_sandbox_payment(place_order(user=UserFactory(), items=[(VariantFactory(), 1)]))

    by_number = superuser_client.get(PAYMENTS, {"q": paid.order.number}).content.decode()
    by_reference = superuser_client.get(PAYMENTS, {"q": other.provider_reference}).content.decode()

    assert paid.provider_reference in by_number and other.provider_reference not in by_number
    assert other.order.number in by_reference and paid.order.number not in by_reference


def test_refunds_search_by_order_number(superuser_client, paid):
    _refund(superuser_client, paid, amount="5.00")

    found = superuser_client.get(REFUNDS, {"q": paid.order.number})
    missed = superuser_client.get(REFUNDS, {"q": "BZNOSUCH"})

    assert found.context["cl"].result_count == 1
    assert missed.context["cl"].result_count == 0


def test_webhook_events_search_by_order_number_in_payload_and_reference(superuser_client, paid):
    event = WebhookEvent.objects.get(payment=paid)

    by_number = superuser_client.get(EVENTS, {"q": paid.order.number})
    by_reference = superuser_client.get(EVENTS, {"q": paid.provider_reference})
    by_id = superuser_client.get(EVENTS, {"q": event.event_id})

    for response in (by_number, by_reference, by_id):
        assert list(response.context["cl"].result_list) == [event]


def test_reapply_action_requeues_flagged_and_failed_events_only(
    superuser_client, paid, settings, django_capture_on_commit_callbacks
):
    processed = WebhookEvent.objects.get(payment=paid)
    flagged = deliver_sandbox_event(
        paid,
        succeeded=True,
        settings=settings,
        event={"id": "evt_unknown", "type": "charge.dispute.created", "data": {}},
    )
    assert webhook_event_apply(event_pk=flagged.pk) == WebhookEvent.Status.FLAGGED

    with django_capture_on_commit_callbacks() as callbacks:
        response = superuser_client.post(
            EVENTS,
            {"action": "reapply_selected", "_selected_action": [flagged.pk, processed.pk]},
            follow=True,
        )

    flagged.refresh_from_db()
    processed.refresh_from_db()
    assert flagged.status == WebhookEvent.Status.RECEIVED
    assert flagged.processed_at is None
    assert processed.status == WebhookEvent.Status.PROCESSED
    assert len(callbacks) == 1  # the apply task for the flagged one
    content = response.content.decode()
    assert "1 event queued again." in content
    assert "1 event skipped" in content


def test_webhook_events_are_read_only(superuser_client, paid):
    event = WebhookEvent.objects.get(payment=paid)
    url = reverse("admin:payments_webhookevent_change", args=[event.pk])

    assert 'name="_save"' not in superuser_client.get(url).content.decode()
    assert superuser_client.post(url, {"status": "processed"}).status_code == 403


def test_merchant_staff_get_no_payments_access(client, paid):
    merchants = Group.objects.get(name="Merchants")
    assert not merchants.permissions.filter(content_type__app_label="payments").exists()
    staff = UserFactory(is_staff=True)
    staff.groups.add(merchants)
    MerchantFactory(staff=[staff])
    client.force_login(staff)

    assert client.get(PAYMENTS).status_code == 403
    assert client.get(EVENTS).status_code == 403
    assert client.get(_refund_url(paid)).status_code in (403, 404)
    assert not Refund.objects.exists()


def test_finance_staff_may_view_and_refund(client, paid):
    finance = UserFactory(is_staff=True)
    finance.groups.add(Group.objects.get(name="Finance"))
    client.force_login(finance)

    assert client.get(PAYMENTS).status_code == 200
    assert client.get(EVENTS).status_code == 200
    _refund(client, paid, amount="1.00")

    assert Refund.objects.get().created_by == finance


def test_view_only_staff_cannot_refund(client, paid):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_payment"))
    client.force_login(viewer)

    assert client.get(PAYMENTS).status_code == 200
    assert client.get(_refund_url(paid)).status_code == 404
    response = client.post(PAYMENTS, {"action": "refund_part", "_selected_action": [paid.pk]})
    assert response.get("Location") != _refund_url(paid)
    assert not Refund.objects.exists()
