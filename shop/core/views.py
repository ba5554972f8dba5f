"""Error answers: API.md's JSON envelope under the API and the webhooks, HTML elsewhere.

Django calls these for what goes wrong outside a DRF view: an unmatched path (404), a
refused request (400: a bad Host header, a body over DATA_UPLOAD_MAX_MEMORY_SIZE, which
is a 413), PermissionDenied in a plain view (403) and unexpected errors (500).
`shop.core.middleware.ApiErrorEnvelopeMiddleware` covers the rest (405s of plain views,
DEBUG's technical pages), so every error answer under those paths has the envelope.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views import defaults, static

from shop.core.api import error_body, error_for_status

# Paths whose answers are JSON, errors included: the API and the providers' and carriers'
# webhooks (API.md).
JSON_PATH_PREFIXES = ("/api/", "/payments/webhooks/", "/shipping/webhooks/")


def is_json_path(request: HttpRequest) -> bool:
    path = request.path_info
    return path.startswith(JSON_PATH_PREFIXES) or f"{path}/" in JSON_PATH_PREFIXES


def json_error(status_code: int) -> JsonResponse:
    code, message = error_for_status(status_code)
    return JsonResponse(error_body(code, message), status=status_code)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    status_code = 413 if isinstance(exception, RequestDataTooBig) else 400
    if is_json_path(request):
        return json_error(status_code)
    response = defaults.bad_request(request, exception)
    response.status_code = status_code
    return response


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_json_path(request):
        return json_error(403)
    return defaults.permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_json_path(request):
        return json_error(404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_json_path(request):
        return json_error(500)
    return defaults.server_error(request)


def media_serve(request: HttpRequest, path: str) -> HttpResponseBase:
    """Django's static `serve` for uploads (SERVE_MEDIA) from MEDIA_ROOT, where a name the
    file system refuses (too long, NUL) is a 404 like any missing file, not an OSError."""
    try:
        return static.serve(request, path, document_root=str(settings.MEDIA_ROOT))
    except (OSError, ValueError) as exc:
        raise Http404("No such file.") from exc
