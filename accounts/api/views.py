from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api.serializers import (
    AddressInputSerializer,
    AddressOutputSerializer,
    RegisterInputSerializer,
    TokenObtainInputSerializer,
    TokenPairOutputSerializer,
    TokenRefreshInputSerializer,
    TokenRefreshOutputSerializer,
    UserOutputSerializer,
    UserUpdateInputSerializer,
)
from accounts.errors import InvalidCredentials, TokenInvalid
from accounts.http import AuthenticatedRequest
from accounts.models import Address
from shop.core.clientip import client_limit_key
from shop.core.errors import DomainError
from shop.core.serializers import error_response

INVALID = {400: error_response("Invalid input (`code` = `invalid`, with `fields`).")}
UNAUTHENTICATED = {401: error_response("No or invalid credentials (`not_authenticated`).")}
NOT_FOUND = {404: error_response("Not found, or not yours (`not_found`).")}
THROTTLED = {429: error_response("Too many attempts (`throttled`); see `Retry-After`.")}
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    location=OpenApiParameter.HEADER,
    description="Seconds to wait before trying again.",
    response=[429],
)


class _PublicAuthApi(APIView):
    """Endpoints that hand out credentials: no authentication, no session CSRF."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        # Without authenticators DRF would turn a 401 into a 403.
        return 'Bearer realm="api"'


def _unauthenticated(exc: DomainError) -> exceptions.AuthenticationFailed:
    # AuthenticationFailed makes DRF add the WWW-Authenticate header a 401 needs.
    return exceptions.AuthenticationFailed(exc.message)


class UserRegisterApi(_PublicAuthApi):
    @extend_schema(
        operation_id="auth_register",
        request=RegisterInputSerializer,
        responses={201: UserOutputSerializer, **INVALID, **THROTTLED},
        parameters=[RETRY_AFTER],
        description="Create an account. Invalid email or weak password: 400. An email that "
        "already has an account gets the same 201 answer (with an `id` no account will "
        "ever have) and creates nothing; its owner is told by email. New accounts get a "
        "welcome email. Throttled per client IP at `REGISTER_RATE`, shared with the "
        "register page.",
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration = services.user_register(
            **serializer.validated_data,
            client_address=client_limit_key(request),
            site_url=request.build_absolute_uri("/"),
        )
        return Response(UserOutputSerializer(registration).data, status=status.HTTP_201_CREATED)


class TokenObtainApi(_PublicAuthApi):
    @extend_schema(
        operation_id="auth_token_obtain",
        request=TokenObtainInputSerializer,
        responses={200: TokenPairOutputSerializer, **INVALID, **UNAUTHENTICATED, **THROTTLED},
        parameters=[RETRY_AFTER],
        description="Exchange email and password for a JWT pair. After `LOGIN_FAILURE_LIMIT` "
        "failures for one email from one client address within 15 minutes: 429 until the "
        "window passes (the same limit as the log-in page and the admin; the owner can "
        "still log in from an address that has not failed). Changing the password ends "
        "every token issued before.",
    )
    def post(self, request: Request) -> Response:
        serializer = TokenObtainInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = services.user_authenticate(**serializer.validated_data, request=request)
        except InvalidCredentials as exc:
            raise _unauthenticated(exc) from exc
        pair = services.token_pair_issue(user=user)
        return Response(TokenPairOutputSerializer(pair).data)


class TokenRefreshApi(_PublicAuthApi):
    @extend_schema(
        operation_id="auth_token_refresh",
        request=TokenRefreshInputSerializer,
        responses={200: TokenRefreshOutputSerializer, **INVALID, **UNAUTHENTICATED},
        description="Exchange a refresh token for a new access token and the next refresh "
        "token; the one sent is used up. A used-up, revoked or expired refresh token, or "
        "one issued before a password change: 401. Sending a used-up one again also "
        "revokes the newer tokens rotated from it (a copy must have leaked).",
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            pair = services.token_refresh(refresh=serializer.validated_data["refresh"])
        except TokenInvalid as exc:
            raise _unauthenticated(exc) from exc
        return Response(TokenRefreshOutputSerializer(pair).data)


class TokenRevokeApi(_PublicAuthApi):
    @extend_schema(
        operation_id="auth_token_revoke",
        request=TokenRefreshInputSerializer,
        responses={204: None, **INVALID, **UNAUTHENTICATED},
        description="Log out: this refresh token, and every refresh token rotated from it, "
        "answers 401 from now on. Access tokens already issued work until they expire "
        "(`JWT_ACCESS_MINUTES`). An invalid or expired refresh token: 401.",
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.token_revoke(refresh=serializer.validated_data["refresh"])
        except TokenInvalid as exc:
            raise _unauthenticated(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(
        operation_id="me_retrieve", responses={200: UserOutputSerializer, **UNAUTHENTICATED}
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(UserOutputSerializer(request.user).data)

    @extend_schema(
        operation_id="me_update",
        request=UserUpdateInputSerializer,
        responses={200: UserOutputSerializer, **INVALID, **UNAUTHENTICATED},
    )
    def patch(self, request: AuthenticatedRequest) -> Response:
        serializer = UserUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = request.user
        if "name" in serializer.validated_data:
            user = services.user_update(user=user, name=serializer.validated_data["name"])
        return Response(UserOutputSerializer(user).data)


class AddressListCreateApi(ListAPIView):
    serializer_class = AddressOutputSerializer
    filter_backends: list = []
    request: AuthenticatedRequest  # IsAuthenticated, the API's default, lets only users in

    def get_queryset(self) -> QuerySet[Address]:
        return selectors.address_list_for_user(user=self.request.user)

    @extend_schema(operation_id="me_addresses_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="me_addresses_create",
        request=AddressInputSerializer,
        responses={201: AddressOutputSerializer, **INVALID, **UNAUTHENTICATED},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = AddressInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = services.address_create(user=request.user, **serializer.validated_data)
        return Response(AddressOutputSerializer(address).data, status=status.HTTP_201_CREATED)


class AddressDetailApi(APIView):
    def _get(self, request: AuthenticatedRequest, address_id: int) -> Address:
        return selectors.address_get_for_user(user=request.user, address_id=address_id)

    @extend_schema(
        operation_id="me_addresses_retrieve",
        responses={200: AddressOutputSerializer, **UNAUTHENTICATED, **NOT_FOUND},
    )
    def get(self, request: AuthenticatedRequest, address_id: int) -> Response:
        return Response(AddressOutputSerializer(self._get(request, address_id)).data)

    @extend_schema(
        operation_id="me_addresses_update",
        request=AddressInputSerializer(partial=True),
        responses={200: AddressOutputSerializer, **INVALID, **UNAUTHENTICATED, **NOT_FOUND},
    )
    def patch(self, request: AuthenticatedRequest, address_id: int) -> Response:
        address = self._get(request, address_id)
        serializer = AddressInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        address = services.address_update(address=address, **serializer.validated_data)
        return Response(AddressOutputSerializer(address).data)

    @extend_schema(
        operation_id="me_addresses_destroy",
        responses={204: None, **UNAUTHENTICATED, **NOT_FOUND},
    )
    def delete(self, request: AuthenticatedRequest, address_id: int) -> Response:
        services.address_delete(address=self._get(request, address_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
