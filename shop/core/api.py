"""API plumbing shared by every app: the error envelope and pagination of API.md."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator as DjangoPaginator
from django.db import IntegrityError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination, status
from rest_framework.request import Request
from rest_framework.response import Response
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


def error_body(
    code: str, message: StrOrPromise, fields: dict[str, list[str]] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if fields is not None:
        body["fields"] = fields
    body.update(extra)
    return body


def _flatten(detail: object) -> dict[str, list[str]]:
    """DRF's nested ErrorDetail structure as {field: [message, ...]}."""
    if isinstance(detail, dict):
        return {
            key: [str(m) for m in value] if isinstance(value, list) else [str(value)]
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ThrottledError):
        throttled = Response(error_body(exc.code, exc.message), status=exc.status_code)
        throttled["Retry-After"] = str(exc.retry_after)
        return throttled
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, **exc.extra), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            fields = exc.message_dict
        else:
            fields = {"non_field_errors": exc.messages}
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


def json_error_view(
    status_code: int, code: str, message: StrOrPromise
) -> Callable[[HttpRequest], JsonResponse]:
    def view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
        return JsonResponse(error_body(code, message), status=status_code)

    return view
