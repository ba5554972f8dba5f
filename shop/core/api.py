"""API plumbing shared by every app: the error envelope and pagination of API.md."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator as DjangoPaginator
from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, pagination, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from shop.core import pagecache
from shop.core.errors import DomainError, ThrottledError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)

# DRF's own error codes, renamed where API.md fixes a word.
_CODE_BY_EXCEPTION = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
    (exceptions.ParseError, "parse_error"),
]


# The envelope of answers that Django gives around DRF (URL resolution, middleware, request
# parsing, plain views): API.md's codes where it names one.
ERROR_BY_STATUS: dict[int, tuple[str, StrOrPromise]] = {
    400: ("bad_request", gettext_lazy("The request could not be understood.")),
    401: ("not_authenticated", gettext_lazy("Authentication credentials were not provided.")),
    403: ("permission_denied", gettext_lazy("You do not have permission to do this.")),
    404: ("not_found", gettext_lazy("Not found.")),
    405: ("method_not_allowed", gettext_lazy("This method is not allowed here.")),
    406: ("not_acceptable", gettext_lazy("No answer in the requested format is available.")),
    413: ("request_too_large", gettext_lazy("The request body is too large.")),
    415: ("unsupported_media_type", gettext_lazy("Unsupported media type in the request.")),
    429: ("throttled", gettext_lazy("Too many requests. Try again later.")),
    500: ("server_error", gettext_lazy("Internal server error.")),
}
BAD_REQUEST = ERROR_BY_STATUS[400]
TOO_LARGE = ERROR_BY_STATUS[413]


def error_for_status(status_code: int) -> tuple[str, StrOrPromise]:
    """The envelope's code and message for an answer that has nothing more specific."""
    if status_code in ERROR_BY_STATUS:
        return ERROR_BY_STATUS[status_code]
    return ERROR_BY_STATUS[500 if status_code >= 500 else 400]


def error_body(
    code: str, message: StrOrPromise, fields: dict[str, list[str]] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if fields is not None:
        body["fields"] = fields
    body.update(extra)
    return body


def _flatten(detail: object) -> dict[str, list[str]]:
    """DRF's nested ErrorDetail structure as `{field: [message, ...]}`, nested fields under
    dotted keys (`shipping_address.country`, `lines.0.quantity`). Errors about a nested
    object as a whole (its own `non_field_errors`) are filed under the object's key."""
    flat: dict[str, list[str]] = {}
    _flatten_into(flat, detail, "")
    return flat


def _flatten_into(flat: dict[str, list[str]], detail: object, key: str) -> None:
    if isinstance(detail, dict):
        for name, value in detail.items():
            name = str(name)
            if name in (api_settings.NON_FIELD_ERRORS_KEY, "__all__") and key:
                _flatten_into(flat, value, key)
            else:
                _flatten_into(flat, value, f"{key}.{name}" if key else name)
    elif isinstance(detail, list | tuple):
        if all(isinstance(item, str) for item in detail):  # ErrorDetail is a str
            if detail:
                flat.setdefault(key or api_settings.NON_FIELD_ERRORS_KEY, []).extend(
                    str(item) for item in detail
                )
            return
        # A list serializer's errors: one entry per item, empty for the valid ones.
        for index, item in enumerate(detail):
            if isinstance(item, str):
                flat.setdefault(key or api_settings.NON_FIELD_ERRORS_KEY, []).append(str(item))
            elif item:
                _flatten_into(flat, item, f"{key}.{index}" if key else str(index))
    else:
        flat.setdefault(key or api_settings.NON_FIELD_ERRORS_KEY, []).append(str(detail))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ThrottledError):
        throttled = Response(error_body(exc.code, exc.message), status=exc.status_code)
        throttled["Retry-After"] = str(exc.retry_after)
        return throttled
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, **exc.extra), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(*TOO_LARGE), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation):  # e.g. too many fields: bad input, logged
        logger.warning("suspicious request: %s", exc)
        return Response(error_body(*BAD_REQUEST), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            fields = _flatten(exc.message_dict)
        else:
            fields = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        return Response(
            error_body("invalid", _("Invalid input."), fields), status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, ObjectDoesNotExist | Http404):
        return Response(error_body("not_found", _("Not found.")), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, IntegrityError):
        logger.warning("integrity error mapped to 409: %s", exc)
        return Response(
            error_body("conflict", _("This conflicts with the current state.")),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            error_body("invalid", _("Invalid input."), _flatten(exc.detail)),
            status=status.HTTP_400_BAD_REQUEST,
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django logs it and answers 500 without detail
    code = next(
        (name for cls, name in _CODE_BY_EXCEPTION if isinstance(exc, cls)),
        getattr(exc, "default_code", "error"),
    )
    detail = getattr(exc, "detail", "")
    if isinstance(detail, dict):  # simplejwt puts its message under "detail"
        detail = detail.get("detail", _("Invalid request."))
    response.data = error_body(code, detail)
    return response


class IgnoreAcceptNegotiation(BaseContentNegotiation):
    """Always the view's first renderer, whatever `Accept` says: for callers such as payment
    providers, which retry any answer that is not a 2xx (a 406 included) for days."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=N` of API.md: a page size above 100 is capped, one that is not a
    whole number of at least 1 is a 400 (DRF would silently fall back to the default)."""

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [_("Enter a whole number of at least 1.")]}
            )
        return min(int(raw), self.max_page_size)

    def get_page_number(self, request: Request, paginator: DjangoPaginator) -> int | str:
        # `?page=` with nothing is not page 1: the schema says a whole number.
        if request.query_params.get(self.page_query_param) == "":
            raise exceptions.NotFound(_("Invalid page."))
        return super().get_page_number(request, paginator)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = str(
                    _("Results per page (default %(default)s); values above %(max)s are capped.")
                    % {"default": self.page_size, "max": self.max_page_size}
                )
        return parameters


# The pagination parameters, as the page cache stores them (shop.core.pagecache): a page
# past the end is a 404 (never stored), a page size above the cap is not canonical, and
# pages of a size other than the default are budgeted (each size is a whole new set of
# pages: 100 sizes of a 10,000-product list would be some 50,000 entries).
PAGINATION_QUERY: dict[str, pagecache.Param] = {
    "page": pagecache.whole_number(),
    "page_size": pagecache.whole_number(maximum=PageNumberPagination.max_page_size, open=True),
}


class AnonymousCacheMixin(APIView):
    """Lets the anonymous page cache (shop.core.pagecache) share this view's successful
    JSON answers between anonymous callers; the middleware stores nothing personal.

    Only JSON is marked: the cache key ignores `Accept`, so the browsable API's HTML must
    never be stored where an app would be served it. Only canonical URLs for
    `anonymous_cache_query` (the query parameters the view takes) are stored, and a view
    says what its answer shows with `page_depends_on` (else any catalog change ends it)."""

    anonymous_cache_timeout: int | None = None  # seconds; None: PAGE_CACHE_TIMEOUT
    anonymous_cache_query: ClassVar[dict[str, pagecache.Param]] = {}

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        renderer = getattr(request, "accepted_renderer", None)
        if (
            request.method in ("GET", "HEAD")
            and response.status_code == 200
            and renderer is not None
            and renderer.format == "json"
        ):
            pagecache.mark_cacheable_if_canonical(
                request,
                response,
                query=self.anonymous_cache_query,
                timeout=self.anonymous_cache_timeout,
            )
        return response
