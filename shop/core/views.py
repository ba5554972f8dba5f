"""Error pages: JSON under /api/ (API.md's envelope), HTML everywhere else."""

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views import defaults

from shop.core.api import json_error_view


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_error_view(404, "not_found", _("Not found."))(request)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return json_error_view(500, "server_error", _("Internal server error."))(request)
    return defaults.server_error(request)
