"""Shipping API for shoppers at checkout (API.md "Checkout and orders")."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shipping import selectors
from shipping.api.serializers import (
    ShippingMethodListInputSerializer,
    ShippingMethodOutputSerializer,
)
from shop.core.serializers import CountryField, error_response


class ShippingMethodListApi(APIView):
    @extend_schema(
        operation_id="shipping_methods_list",
        summary="List shipping methods",
        description="Active shipping methods, as a plain array; with `country`, only those "
        "that ship there. A `country` that is not an ISO 3166-1 alpha-2 code: 400.",
        parameters=[
            OpenApiParameter(
                "country",
                str,
                enum=list(CountryField().choices),
                description="ISO 3166-1 alpha-2 code such as `US`.",
            )
        ],
        responses={
            200: ShippingMethodOutputSerializer(many=True),
            400: error_response("`country` is not a country code (`invalid`)."),
        },
    )
    def get(self, request: Request) -> Response:
        # A plain dict: DRF reads `?country=` from a QueryDict as "not given", but the
        # schema's enum has no empty value, so an empty country is a 400 like any other.
        serializer = ShippingMethodListInputSerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        methods = selectors.shipping_method_list(country=serializer.validated_data.get("country"))
        return Response(ShippingMethodOutputSerializer(methods, many=True).data)
