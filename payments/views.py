"""Provider webhooks and the sandbox provider's payment page."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.models import Order
from payments.api.serializers import WebhookEventInputSerializer, WebhookReceivedOutputSerializer
from payments.errors import ProviderUnavailable
from payments.models import Payment, PaymentStatus, Provider
from payments.providers import PROVIDERS
from payments.providers.sandbox import sandbox_event_build, sandbox_link_payment
from payments.services.webhooks import webhook_receive
from shop.core.api import IgnoreAcceptNegotiation, error_body
from shop.core.serializers import error_response

logger = logging.getLogger(__name__)


class SignedWebhookApi(APIView):
    """What every signed callback we take (payment providers, carriers) shares.

    A DRF view (outside /api/v1/) so that the OpenAPI schema describes it and its errors
    are the API's envelope. It never reads `request.data`: the signature covers the bytes
    as sent, so intake gets `request.body` untouched."""

    authentication_classes: list = []  # the signature is the credential; no CSRF either
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]  # what the schema shows; the body is never parsed here
    reads_raw_body = True  # so no 415 either (shop.core.schema)
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreAcceptNegotiation  # a 406 would be retried for days


SIGNATURE_PARAMETER = OpenApiParameter(
    "Stripe-Signature",
    str,
    location=OpenApiParameter.HEADER,
    required=True,
    description='`t=<unix timestamp>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.',
)


def signed_webhook_responses(*, not_found: str) -> dict:
    """A signed webhook's answers for the schema; `not_found` says when it is a 404."""
    return {
        200: WebhookReceivedOutputSerializer,
        400: error_response("`invalid_signature`: missing, wrong or too old."),
        404: error_response(f"`not_found`: {not_found}"),
        413: error_response("`request_too_large`: the body is over the size limit."),
    }


class WebhookReceiveApi(SignedWebhookApi):
    """API.md "Payments": verify on the raw body, store, answer 200; a worker applies it."""

    @extend_schema(
        operation_id="payments_webhook_receive",
        summary="Receive a payment provider's event",
        description=(
            "Called by payment providers, not by apps. Signed as Stripe signs: "
            "`Stripe-Signature: t=<unix ts>,v1=<hex>`, where `<hex>` is the HMAC-SHA256 "
            "of `<t>.<raw body>` with the provider's webhook secret "
            "(`STRIPE_WEBHOOK_SECRET`, `SANDBOX_WEBHOOK_SECRET`). A bad signature, or `t` "
            "more than 300 s from now, is a 400 and nothing is stored. A verified event is "
            "stored and answered 200 at once (also while the broker is down); a worker "
            "applies it. One that cannot be used (unknown order or type, wrong amount) is "
            "still 200, stored and flagged for staff; the same event id again changes "
            "nothing."
        ),
        tags=["payments"],
        auth=[],
        parameters=[
            OpenApiParameter(
                "provider",
                str,
                location=OpenApiParameter.PATH,
                enum=Provider.values,
                description="The provider that signed the event.",
            ),
            SIGNATURE_PARAMETER,
        ],
        request=WebhookEventInputSerializer,
        responses=signed_webhook_responses(not_found="no such provider, or it is not configured."),
    )
    def post(self, request: Request, provider: str) -> Response:
        try:
            event = webhook_receive(
                provider_name=provider,
                payload=request.body,
                signature=request.headers.get("Stripe-Signature", ""),
            )
        except ProviderUnavailable as exc:
            return Response(error_body("not_found", exc.message), status=404)
        return Response({"received": True, "id": event.event_id})


webhook_view = WebhookReceiveApi.as_view()


def _sandbox_refusal(payment: Payment) -> str:
    """Why the sandbox page will not take this payment now; empty when it will."""
    order = payment.order
    if order.status == Order.Status.CANCELLED:
        return _(
            "Order %(number)s was cancelled, so it can no longer be paid. Nothing was charged."
        ) % {"number": order.number}
    if order.status != Order.Status.PENDING_PAYMENT:
        return _("Order %(number)s is %(status)s: there is nothing left to pay.") % {
            "number": order.number,
            "status": order.get_status_display(),
        }
    if payment.status != PaymentStatus.PENDING:
        return _(
            "This payment is %(status)s and cannot be paid. "
            "Start a new payment from the order page."
        ) % {"status": payment.get_status_display()}
    return ""


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sandbox_payment_view(request: HttpRequest, token: str) -> HttpResponse:
    """The sandbox provider's hosted page: "Pay" or "Decline" sends the signed webhook.

    The link is its own credential (signed, bound to the payment, as short-lived as the
    order's time to pay): it works without a session, as a mobile app's web view opens it.
    It refuses an order that is no longer awaiting payment and a payment no longer
    pending, on the page and again when a button is pressed (an old tab)."""
    if not PROVIDERS[Provider.SANDBOX].is_configured():
        raise Http404("The sandbox provider is off.")
    found = sandbox_link_payment(token=token)
    if found is None:
        raise Http404
    payment_id, reference = found
    payment = get_object_or_404(
        Payment.objects.select_related("order"),
        pk=payment_id,
        provider=Provider.SANDBOX,
        provider_reference=reference,
    )
    order = payment.order
    is_owner = request.user.is_authenticated and request.user.pk == order.user_id
    refusal = _sandbox_refusal(payment)
    if request.method == "POST":
        if refusal:
            messages.error(request, refusal)
            return redirect(request.path)
        succeeded = request.POST.get("outcome") == "pay"
        from payments.tasks import sandbox_webhook_send_task

        try:
            sandbox_webhook_send_task.delay(
                url=request.build_absolute_uri(
                    reverse("payments:webhook", args=[Provider.SANDBOX])
                ),
                event=sandbox_event_build(payment=payment, succeeded=succeeded),
            )
        except Exception:  # the broker is down: say so, and let the shopper try again
            logger.warning("broker unavailable; sandbox payment %s not sent", payment.pk)
            messages.error(request, _("The sandbox cannot send payments right now. Try again."))
            return redirect(request.path)
        if succeeded:
            messages.success(request, _("Payment sent. Your order updates in a moment."))
        else:
            messages.warning(request, _("Payment declined."))
        if is_owner:
            return redirect(order.get_absolute_url())
        # No session of the order's owner (a web view): this page, without its buttons.
        return render(
            request, "payments/sandbox.html", {"payment": payment, "order": order, "sent": True}
        )
    return render(
        request,
        "payments/sandbox.html",
        {"payment": payment, "order": order, "refusal": refusal, "is_owner": is_owner},
    )
