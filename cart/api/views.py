"""Cart API (API.md "Cart"): the logged-in user's database cart. Anonymous callers get
401; the anonymous session cart belongs to the HTML site only."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import AuthenticatedRequest
from cart import selectors, services
from cart.api.serializers import (
    CartLineAddInputSerializer,
    CartLineOutputSerializer,
    CartLineUpdateInputSerializer,
    CartOutputSerializer,
    InsufficientStockErrorSerializer,
)
from cart.models import CartLine
from cart.selectors import CartItem
from shop.core.serializers import error_response

INVALID = {
    400: error_response(
        "Invalid input (`invalid`, with `fields`): a quantity that is not a whole number "
        "from 1 to `MAX_LINE_QUANTITY`, or (`variant`) an unknown or unavailable variant."
    )
}
INSUFFICIENT_STOCK = {
    409: OpenApiResponse(
        response=InsufficientStockErrorSerializer,
        description="`insufficient_stock`: more than is available; `lines` says how much is.",
    )
}
NOT_FOUND = {404: error_response("No such line in your cart (`not_found`).")}


def _line_data(line: CartLine) -> dict[str, Any]:
    return CartLineOutputSerializer(
        CartItem(
            id=line.pk,
            variant=line.variant,
            quantity=line.quantity,
            added_unit_price=line.added_unit_price_amount,
        )
    ).data


class CartGetApi(APIView):
    @extend_schema(
        operation_id="cart_retrieve",
        summary="Get your cart",
        responses={200: CartOutputSerializer},
        description="The lines of your cart at today's prices, with their subtotal.",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        cart = selectors.cart_get_for_user(user=request.user)
        return Response(CartOutputSerializer(cart).data)


class CartLineAddApi(APIView):
    @extend_schema(
        operation_id="cart_lines_create",
        summary="Add a variant to your cart",
        request=CartLineAddInputSerializer,
        responses={201: CartLineOutputSerializer, **INVALID, **INSUFFICIENT_STOCK},
        description=(
            "Adds `quantity` of `variant`. A variant already in the cart adds to its line, and "
            "the answer is that line with its new quantity (GET `cart/` for the whole cart). "
            "The sum must stay within `MAX_LINE_QUANTITY` (else 400) and within what is "
            "available (else 409). Prices come from the server: a price sent is ignored."
        ),
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = CartLineAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        line = services.cart_add_item(
            user=request.user,
            variant_id=serializer.validated_data["variant"],
            quantity=serializer.validated_data["quantity"],
        )
        return Response(_line_data(line), status=status.HTTP_201_CREATED)


class CartLineDetailApi(APIView):
    """PATCH changes a line's quantity, DELETE removes it (one URL, so one view)."""

    @extend_schema(
        operation_id="cart_lines_update",
        summary="Change a line's quantity",
        request=CartLineUpdateInputSerializer,
        responses={200: CartLineOutputSerializer, **INVALID, **NOT_FOUND, **INSUFFICIENT_STOCK},
        description=(
            "Sets the line's quantity (a body without `quantity` changes nothing). "
            "A line of another user's cart: 404."
        ),
    )
    def patch(self, request: AuthenticatedRequest, line_id: int) -> Response:
        serializer = CartLineUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "quantity" not in serializer.validated_data:
            item = selectors.cart_line_get_for_user(user=request.user, line_id=line_id)
            return Response(CartLineOutputSerializer(item).data)
        line = services.cart_line_update(
            user=request.user, line_id=line_id, quantity=serializer.validated_data["quantity"]
        )
        return Response(_line_data(line))

    @extend_schema(
        operation_id="cart_lines_destroy",
        summary="Remove a line",
        responses={204: None, **NOT_FOUND},
    )
    def delete(self, request: AuthenticatedRequest, line_id: int) -> Response:
        services.cart_line_remove(user=request.user, line_id=line_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
