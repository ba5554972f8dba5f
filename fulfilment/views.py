"""Carriers' tracking callbacks: verified on the raw body, stored in the inbox, answered."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from fulfilment.errors import CarrierUnavailable
from fulfilment.services.shipments import carrier_event_receive
from payments.errors import InvalidSignature
from shop.core.api import error_body


@csrf_exempt
@require_POST
def carrier_webhook_view(request: HttpRequest, carrier: str) -> HttpResponse:
    """API.md: signed like the payment webhooks with CARRIER_WEBHOOK_SECRET; stored durably
    and answered at once; a worker applies it."""
    try:
        event = carrier_event_receive(
            carrier=carrier,
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
        )
    except InvalidSignature as exc:
        return JsonResponse(error_body(exc.code, exc.message), status=400)
    except CarrierUnavailable as exc:
        return JsonResponse(error_body(exc.code, exc.message), status=404)
    return JsonResponse({"received": True, "id": event.event_id})
