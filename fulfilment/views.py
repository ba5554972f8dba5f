"""Carriers' tracking callbacks: verified on the raw body, stored in the inbox, answered."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fulfilment.services.shipments import CARRIER_STATUSES, carrier_event_receive
from payments.views import SIGNATURE_PARAMETER, SignedWebhookApi, signed_webhook_responses


class CarrierEventInputSerializer(serializers.Serializer):
    """A carrier's tracking step (API.md "Shipping")."""

    id = serializers.CharField(
        max_length=255, help_text=_("The carrier's event id; a redelivery repeats it.")
    )
    tracking_number = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(choices=[str(status) for status in CARRIER_STATUSES])
    description = serializers.CharField(required=False, allow_blank=True)
    occurred_at = serializers.DateTimeField(
        help_text=_("When it happened at the carrier: an older step never replaces a newer.")
    )


class CarrierWebhookApi(SignedWebhookApi):
    """API.md: signed like the payment webhooks with CARRIER_WEBHOOK_SECRET; stored in the
    shop's inbox and answered at once; a worker applies it. Like the payment webhook, a DRF
    view so the schema describes it and its errors are the API's envelope, and it reads the
    body as sent (the signature covers those bytes)."""

    @extend_schema(
        operation_id="shipping_carrier_webhook_receive",
        summary="Receive a carrier's tracking event",
        description=(
            "Called by carriers, not by apps. Signed as the payment webhooks are, with "
            "`CARRIER_WEBHOOK_SECRET`: `Stripe-Signature: t=<unix ts>,v1=<hex HMAC-SHA256 of "
            '"<t>.<raw body>">`. A bad signature, or `t` more than 300 s from now, is a 400 '
            "and nothing is stored. A verified event is stored and answered 200 at once; a "
            "worker applies it. The same event id again changes nothing; an event older than "
            "the shipment's current status joins its timeline without moving it; an unknown "
            "tracking number is stored and flagged for staff. When every shipment of an order "
            "is delivered, the order is `delivered`."
        ),
        tags=["shipping"],
        auth=[],
        parameters=[
            OpenApiParameter(
                "carrier",
                str,
                location=OpenApiParameter.PATH,
                description="The carrier's slug, such as `dhl` (the shop's carrier registry).",
            ),
            SIGNATURE_PARAMETER,
        ],
        request=CarrierEventInputSerializer,
        responses=signed_webhook_responses(not_found="no such carrier."),
    )
    def post(self, request: Request, carrier: str) -> Response:
        event = carrier_event_receive(
            carrier=carrier,
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
        )
        return Response({"received": True, "id": event.event_id})


carrier_webhook_view = CarrierWebhookApi.as_view()
