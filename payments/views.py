"""Provider webhooks and the sandbox provider's payment page."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from payments.errors import InvalidSignature, ProviderUnavailable
from payments.models import Payment, PaymentStatus, Provider
from payments.providers import PROVIDERS
from payments.providers.sandbox import sandbox_event_build
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


@login_required
@require_http_methods(["GET", "POST"])
def sandbox_payment_view(request: HttpRequest, reference: str) -> HttpResponse:
    """The sandbox provider's hosted page: "Pay" or "Decline" sends the signed webhook."""
    if not PROVIDERS[Provider.SANDBOX].is_configured():
        raise Http404("The sandbox provider is off.")
    payment = get_object_or_404(
        Payment.objects.select_related("order"),
        provider=Provider.SANDBOX,
        provider_reference=reference,
        order__user=request.user,
    )
    if request.method == "POST" and payment.status == PaymentStatus.PENDING:
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
        return redirect(payment.order.get_absolute_url())
    return render(request, "payments/sandbox.html", {"payment": payment})
