"""Payments API for shoppers (API.md "Payments"), and the order cancel that refunds."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import selectors as order_selectors
from orders.api.serializers import OrderOutputSerializer
from orders.api.views import idempotency_key_from
from payments import selectors
from payments.api.serializers import (
    PaymentCreateInputSerializer,
    PaymentCreateOutputSerializer,
    PaymentOutputSerializer,
)
from payments.services.cancel import order_cancel
from payments.services.start import payment_start
from shop.core.idempotency import MAX_KEY_LENGTH, idempotent_call
from shop.core.serializers import error_response

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[!-~]+$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique key per payment attempt (e.g. a UUID). A retry with the same key and body "
        "returns the first answer and starts no second payment; the same key with a "
        "different body is a 409 `idempotency_key_reused`. A failed attempt stores nothing, "
        "so it can be retried with its key."
    ),
)


def idempotency_scope(number: str) -> str:
    return f"payments.create:{number}"


class PaymentListCreateApi(APIView):
    @extend_schema(
        operation_id="orders_payments_list",
        summary="List an order's payments",
        description=(
            "Every payment attempt of one of your orders, oldest first (a plain array). "
            "`captured_amount` and `refunded_amount` are derived from the money booked on it."
        ),
        responses={200: PaymentOutputSerializer(many=True)},
    )
    def get(self, request, number):
        order = selectors.payment_order_get_for_customer(user=request.user, number=number)
        payments = selectors.payment_list_for_order(order=order)
        return Response(PaymentOutputSerializer(payments, many=True).data)

    @extend_schema(
        operation_id="orders_payments_create",
        summary="Start paying an order",
        description=(
            "Opens a `pending` payment for an order in `pending_payment` and hands it to the "
            "provider. Sandbox answers a `redirect_url` (its payment page, with Pay and "
            "Decline); stripe answers the PaymentIntent's `client_secret`. The order becomes "
            "`paid` when the provider's signed callback says so. Honours `Idempotency-Key`."
        ),
        request=PaymentCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: PaymentCreateOutputSerializer,
            400: error_response(
                "Invalid input (`invalid` with `fields`) or a provider the shop does not "
                "offer (`provider_unavailable`)."
            ),
            402: error_response("The provider could not be reached (`payment_failed`)."),
            409: error_response(
                "The order is not awaiting payment (`payment_not_allowed`) or "
                "`idempotency_key_reused`."
            ),
        },
    )
    def post(self, request, number):
        key = idempotency_key_from(request)
        serializer = PaymentCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        provider = serializer.validated_data["provider"]
        order = selectors.payment_order_get_for_customer(user=request.user, number=number)

        def start() -> tuple[int, dict]:
            payment = payment_start(order=order, provider_name=provider)
            body = PaymentCreateOutputSerializer(payment, context={"request": request}).data
            return status.HTTP_201_CREATED, dict(body)

        if key is None:
            code, body = start()
        else:
            code, body, _replayed = idempotent_call(
                user=request.user,
                scope=idempotency_scope(number),
                key=key,
                payload=request.data,
                run=start,
                external=True,  # the provider is called outside any transaction
            )
        return Response(body, status=code)


class OrderCancelApi(APIView):
    @extend_schema(
        operation_id="orders_cancel",
        summary="Cancel one of my orders",
        description=(
            "`pending_payment` becomes `cancelled` and the reserved stock returns; `paid` with "
            "nothing shipped becomes `cancelled`, its stock returns and its payments are "
            "refunded in full. Any other status: 409 `invalid_transition`."
        ),
        request=None,
        responses={
            200: OrderOutputSerializer,
            409: error_response("The order cannot be cancelled now (`invalid_transition`)."),
        },
    )
    def post(self, request, number):
        order = order_selectors.order_get_for_customer(user=request.user, number=number)
        order_cancel(order_id=order.pk, by=request.user)
        order = order_selectors.order_get_for_customer(user=request.user, number=number)
        return Response(OrderOutputSerializer(order).data)
