"""Fulfilment API (API.md "Shipping"): shoppers follow their parcels and ask for returns;
merchant staff list their orders, ship, cancel what they cannot send and handle returns.
Staff endpoints see only the staff user's merchants: anything else is a 404."""

from __future__ import annotations

from typing import Any, cast

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import AuthenticatedRequest
from accounts.models import User
from fulfilment import selectors
from fulfilment.api.serializers import (
    CancelLinesInputSerializer,
    ReturnCreateInputSerializer,
    ReturnNoteInputSerializer,
    ReturnOutputSerializer,
    ReturnReceiveInputSerializer,
    ReturnRejectInputSerializer,
    ShipmentCreateInputSerializer,
    ShipmentOutputSerializer,
    StaffOrderOutputSerializer,
)
from fulfilment.models import ReturnStatus
from fulfilment.services import returns, shipments
from fulfilment.services.shipments import staff_merchants
from orders.models import Order
from orders.selectors import order_get_for_customer
from shop.core.serializers import error_response

NOT_FOUND = {404: error_response("No such order (or not yours): `not_found`.")}
STAFF_ERRORS = {
    403: error_response("You are not a merchant's staff (`not_merchant_staff`)."),
    404: error_response("Not an order, line or return of your merchant (`not_found`)."),
}


def _staff_order(request: AuthenticatedRequest, number: str) -> Order:
    staff_merchants(user=request.user)  # 403 for anyone who staffs no merchant
    return selectors.staff_order_list(user=request.user).get(number=number)


# --- Shoppers ----------------------------------------------------------------------------


class OrderShipmentListApi(APIView):
    @extend_schema(
        operation_id="orders_shipments_list",
        summary="Follow an order's parcels",
        description=(
            "Every shipment of one of your orders, oldest first (a plain array): carrier, "
            "tracking number and link, current status and the carrier's timeline."
        ),
        responses={200: ShipmentOutputSerializer(many=True), **NOT_FOUND},
    )
    def get(self, request: AuthenticatedRequest, number: str) -> Response:
        order = order_get_for_customer(user=request.user, number=number)
        found = selectors.shipment_list_for_order(order=order)
        return Response(ShipmentOutputSerializer(found, many=True).data)


class OrderReturnListCreateApi(APIView):
    @extend_schema(
        operation_id="orders_returns_list",
        summary="List an order's returns",
        responses={200: ReturnOutputSerializer(many=True), **NOT_FOUND},
    )
    def get(self, request: AuthenticatedRequest, number: str) -> Response:
        order = order_get_for_customer(user=request.user, number=number)
        found = selectors.return_list_for_order(order=order).select_related("order")
        return Response(ReturnOutputSerializer(found, many=True).data)

    @extend_schema(
        operation_id="orders_returns_create",
        summary="Ask to return delivered items",
        description=(
            "Delivered lines of one merchant, within `RETURN_WINDOW_DAYS` of delivery. "
            "`refund_amount` is what comes back once the merchant receives the goods (the "
            "shipping too when the whole order comes back)."
        ),
        request=ReturnCreateInputSerializer,
        responses={
            201: ReturnOutputSerializer,
            400: error_response(
                "Invalid input (`invalid` with `fields`): more than was delivered and is not "
                "in a return already, a line of another order, lines of two merchants."
            ),
            409: error_response("Not delivered, or past the return window (`not_returnable`)."),
            **NOT_FOUND,
        },
    )
    def post(self, request: AuthenticatedRequest, number: str) -> Response:
        order = order_get_for_customer(user=request.user, number=number)
        serializer = ReturnCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        created = returns.return_request(
            order_id=order.pk,
            user=request.user,
            lines=data["lines"],
            reason=data["reason"],
            comment=data["comment"],
        )
        found = (
            selectors.return_list_for_order(order=order).select_related("order").get(pk=created.pk)
        )
        return Response(ReturnOutputSerializer(found).data, status=status.HTTP_201_CREATED)


class OrderReturnCancelApi(APIView):
    @extend_schema(
        operation_id="orders_returns_cancel",
        summary="Withdraw a return",
        description="Before the merchant has received the goods.",
        request=None,
        responses={
            200: ReturnOutputSerializer,
            409: error_response("Received already (`invalid_transition`)."),
            **NOT_FOUND,
        },
    )
    def post(self, request: AuthenticatedRequest, number: str, return_id: int) -> Response:
        order = order_get_for_customer(user=request.user, number=number)
        returns.return_cancel(return_id=return_id, user=request.user)
        found = (
            selectors.return_list_for_order(order=order).select_related("order").get(pk=return_id)
        )
        return Response(ReturnOutputSerializer(found).data)


# --- Merchant staff ----------------------------------------------------------------------


class StaffOrderListApi(ListAPIView):
    serializer_class = StaffOrderOutputSerializer
    filter_backends: list[Any] = []

    def get_queryset(self):
        # IsAuthenticated (the default permission) ran first: a User.
        user = cast(User, self.request.user)
        staff_merchants(user=user)
        status_filter = self.request.query_params.get("status") or None
        if status_filter is not None and status_filter not in Order.Status.values:
            raise ValidationError({"status": [_("Not an order status.")]})
        return selectors.staff_order_list(user=user, status=status_filter)

    @extend_schema(
        operation_id="staff_orders_list",
        summary="Orders holding your merchant's lines",
        description="Newest first, paginated; each shows only your merchant's lines.",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=Order.Status.values, required=False)
        ],
        responses={200: StaffOrderOutputSerializer(many=True), **STAFF_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class StaffShipmentCreateApi(APIView):
    @extend_schema(
        operation_id="staff_orders_shipments_create",
        summary="Ship lines of an order",
        description=(
            "Ships your merchant's lines (all still to ship by default, or `lines` and "
            "`quantities`) with a carrier and tracking number. The order becomes "
            "`partially_shipped` or `shipped`; the shopper is emailed the tracking link."
        ),
        request=ShipmentCreateInputSerializer,
        responses={
            201: ShipmentOutputSerializer,
            400: error_response(
                "Invalid input (`invalid` with `fields`): an unknown carrier, a tracking "
                "number in use, more than is still to ship, lines of two merchants."
            ),
            409: error_response("The order is not paid (`invalid_transition`)."),
            **STAFF_ERRORS,
        },
    )
    def post(self, request: AuthenticatedRequest, number: str) -> Response:
        order = _staff_order(request, number)
        serializer = ShipmentCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        created = shipments.shipment_create(
            order_id=order.pk,
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
            lines=data["chosen"],
            by=request.user,
        )
        found = selectors.shipment_list_for_order(order=order).get(pk=created.pk)
        return Response(ShipmentOutputSerializer(found).data, status=status.HTTP_201_CREATED)


class StaffCancelLinesApi(APIView):
    @extend_schema(
        operation_id="staff_orders_cancel_lines",
        summary="Cancel lines you cannot send",
        description=(
            "Unshipped units of your lines on a `paid` or `partially_shipped` order are "
            "cancelled, go back on the shelf and exactly their price is refunded (with the "
            "shipping when nothing of the order is left and nothing was sent)."
        ),
        request=CancelLinesInputSerializer,
        responses={
            200: StaffOrderOutputSerializer,
            400: error_response("Invalid input, or more than is still to ship (`invalid`)."),
            409: error_response("The order cannot change now (`invalid_transition`)."),
            **STAFF_ERRORS,
        },
    )
    def post(self, request: AuthenticatedRequest, number: str) -> Response:
        order = _staff_order(request, number)
        serializer = CancelLinesInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        shipments.order_lines_cancel_for_staff(
            order_id=order.pk, lines=data["chosen"], by=request.user, reason=data["reason"]
        )
        return Response(StaffOrderOutputSerializer(_staff_order(request, number)).data)


class StaffReturnListApi(ListAPIView):
    serializer_class = ReturnOutputSerializer
    filter_backends: list[Any] = []

    def get_queryset(self):
        # IsAuthenticated (the default permission) ran first: a User.
        user = cast(User, self.request.user)
        staff_merchants(user=user)
        status_filter = self.request.query_params.get("status") or None
        if status_filter is not None and status_filter not in ReturnStatus.values:
            raise ValidationError({"status": [_("Not a return status.")]})
        return selectors.staff_return_list(user=user, status=status_filter)

    @extend_schema(
        operation_id="staff_returns_list",
        summary="Returns of your merchant",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=ReturnStatus.values, required=False)
        ],
        responses={200: ReturnOutputSerializer(many=True), **STAFF_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _staff_return(request: AuthenticatedRequest, return_id: int) -> Response:
    found = selectors.staff_return_list(user=request.user).get(pk=return_id)
    return Response(ReturnOutputSerializer(found).data)


class StaffReturnApproveApi(APIView):
    @extend_schema(
        operation_id="staff_returns_approve",
        summary="Approve a return",
        description="The shopper gets `note` as the instructions for sending the goods back.",
        request=ReturnNoteInputSerializer,
        responses={
            200: ReturnOutputSerializer,
            409: error_response("Not `requested` (`invalid_transition`)."),
            **STAFF_ERRORS,
        },
    )
    def post(self, request: AuthenticatedRequest, return_id: int) -> Response:
        serializer = ReturnNoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        returns.return_approve(
            return_id=return_id, by=request.user, note=serializer.validated_data["note"]
        )
        return _staff_return(request, return_id)


class StaffReturnRejectApi(APIView):
    @extend_schema(
        operation_id="staff_returns_reject",
        summary="Reject a return",
        request=ReturnRejectInputSerializer,
        responses={
            200: ReturnOutputSerializer,
            400: error_response("No `note` saying why (`invalid`)."),
            409: error_response("Not `requested` (`invalid_transition`)."),
            **STAFF_ERRORS,
        },
    )
    def post(self, request: AuthenticatedRequest, return_id: int) -> Response:
        serializer = ReturnRejectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        returns.return_reject(
            return_id=return_id, by=request.user, note=serializer.validated_data["note"]
        )
        return _staff_return(request, return_id)


class StaffReturnReceiveApi(APIView):
    @extend_schema(
        operation_id="staff_returns_receive",
        summary="Receive the goods of a return",
        description=(
            "Every line of the return, restocked or not. The return's amount is refunded "
            "(the payment becomes `partially_refunded` or `refunded`; when everything paid "
            "is refunded the order becomes `refunded`); the return becomes `refunded` when "
            "the provider has paid it out."
        ),
        request=ReturnReceiveInputSerializer,
        responses={
            200: ReturnOutputSerializer,
            400: error_response("Not every line of the return, or others (`invalid`)."),
            409: error_response("Not `approved` (`invalid_transition`)."),
            **STAFF_ERRORS,
        },
    )
    def post(self, request: AuthenticatedRequest, return_id: int) -> Response:
        serializer = ReturnReceiveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        returns.return_receive(
            return_id=return_id, by=request.user, restock=serializer.validated_data["lines"]
        )
        return _staff_return(request, return_id)
