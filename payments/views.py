"""Provider webhooks and the sandbox provider's payment page."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from orders.models import Order
from payments.errors import InvalidSignature, ProviderUnavailable
from payments.models import Payment, PaymentStatus, Provider
from payments.providers import PROVIDERS
from payments.providers.sandbox import sandbox_event_build, sandbox_link_payment
from payments.services.webhooks import webhook_receive
from shop.core.api import error_body

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook_view(request: HttpRequest, provider: str) -> HttpResponse:
    """API.md: verify on the raw body, store, answer 200; a worker applies it."""
    try:
        event = webhook_receive(
            provider_name=provider,
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
        )
    except InvalidSignature as exc:
        return JsonResponse(error_body(exc.code, exc.message), status=400)
    except ProviderUnavailable as exc:
        return JsonResponse(error_body("not_found", exc.message), status=404)
    return JsonResponse({"received": True, "id": event.event_id})


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
