"""Orders API for shoppers (API.md "Checkout and orders")."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts.models import Address
from orders import selectors, services
from orders.api.serializers import (
    OrderAcknowledgeOutputSerializer,
    OrderCreateInputSerializer,
    OrderOutputSerializer,
)
from orders.models import Order
from orders.services import ShippingAddress
from shop.core.idempotency import MAX_KEY_LENGTH, idempotent_call
from shop.core.serializers import error_response

IDEMPOTENCY_SCOPE = "orders.create"
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[!-~]+$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique key per order attempt (e.g. a UUID). A retry with the same key and body "
        "returns the first answer and places nothing new; the same key with a different "
        "body is a 409 `idempotency_key_reused`. A failed attempt stores nothing, so it can "
        "be retried with its key."
    ),
)


def idempotency_key_from(request) -> str | None:
    """The request's `Idempotency-Key`: None when absent, a 400 when malformed."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not (0 < len(key) <= MAX_KEY_LENGTH) or not all("!" <= c <= "~" for c in key):
        raise serializers.ValidationError(
            {
                "Idempotency-Key": [
                    _("Use 1 to %(max)s visible ASCII characters, such as a UUID.")
                    % {"max": MAX_KEY_LENGTH}
                ]
            }
        )
    return key


class OrderListCreateApi(ListAPIView):
    serializer_class = OrderOutputSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Order]:
        user = self.request.user
        if not user.is_authenticated:  # refused by IsAuthenticated before this is asked
            return Order.objects.none()
        return selectors.order_list_for_customer(user=user)

    @extend_schema(
        operation_id="orders_list",
        summary="List my orders",
        description="Your own orders, newest first, paginated.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="orders_create",
        summary="Place an order",
        description=(
            "Places the whole cart: reserves its stock, writes the order and empties the cart "
            "in one transaction. Give `shipping_address` or `address_id` (one of your "
            "addresses). Empty cart: 400 `empty_cart`; not enough stock: 409 "
            "`insufficient_stock` with `lines: [{variant, requested, available}]`, and "
            "nothing changes. Honours `Idempotency-Key`."
        ),
        request=OrderCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: OrderOutputSerializer,
            400: error_response(
                "Invalid input (`invalid` with `fields`, e.g. a shipping method that does not "
                "ship to the country, or an address that is not yours) or `empty_cart`."
            ),
            409: error_response("`insufficient_stock` (with `lines`) or `idempotency_key_reused`."),
        },
    )
    def post(self, request):
        key = idempotency_key_from(request)
        serializer = OrderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = request.user

        def place() -> tuple[int, dict]:
            if "address_id" in data:
                try:
                    address = account_selectors.address_get_for_user(
                        user=user, address_id=data["address_id"]
                    )
                except Address.DoesNotExist:
                    raise serializers.ValidationError(
                        {"address_id": [_("This is not one of your addresses.")]}
                    ) from None
                shipping_address = ShippingAddress.from_address(address)
            else:
                shipping_address = ShippingAddress(**data["shipping_address"])
            # The placed order carries its lines: answered without reading it back.
            order = services.order_place(
                user=user, shipping_method_id=data["shipping_method"], address=shipping_address
            )
            return status.HTTP_201_CREATED, OrderOutputSerializer(order).data

        if key is None:
            code, body = place()
        else:
            code, body, _replayed = idempotent_call(
                user=user, scope=IDEMPOTENCY_SCOPE, key=key, payload=request.data, run=place
            )
        return Response(body, status=code)


class OrderDetailApi(APIView):
    @extend_schema(
        operation_id="orders_retrieve",
        summary="Get one of my orders",
        responses={200: OrderOutputSerializer},
    )
    def get(self, request, number):
        order = selectors.order_get_for_customer(user=request.user, number=number)
        return Response(OrderOutputSerializer(order).data)


class StaffOrderAcknowledgeApi(APIView):
    @extend_schema(
        operation_id="staff_orders_acknowledge",
        summary="Acknowledge your lines of a paid order",
        description=(
            "Merchant staff say they are preparing their lines of a `paid` (or "
            "`partially_shipped`) order; from then on the shopper can no longer cancel it. "
            "Repeating it changes nothing. Not merchant staff: 403; an order without lines "
            "of your merchants: 404; any other status: 409 `invalid_transition`."
        ),
        request=None,
        responses={
            200: OrderAcknowledgeOutputSerializer,
            403: error_response("You are not a merchant's staff (`permission_denied`)."),
            404: error_response("No such order with lines of your merchants (`not_found`)."),
            409: error_response("The order is not paid (`invalid_transition`)."),
        },
    )
    def post(self, request, number):
        order = selectors.order_get_for_merchant_staff(user=request.user, number=number)
        services.order_acknowledge(order_id=order.pk, by=request.user)
        order.refresh_from_db()
        lines = selectors.order_lines_for_merchant_staff(user=request.user, order=order)
        return Response(
            OrderAcknowledgeOutputSerializer(
                {
                    "number": order.number,
                    "status": order.status,
                    "acknowledged_at": order.acknowledged_at,
                    "lines": list(lines),
                }
            ).data
        )
