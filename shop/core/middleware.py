"""Request and response guards that hold for every view."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from shop.core.views import is_json_path, json_error

# Headers an error answer must keep when its body is replaced.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")


class ApiErrorEnvelopeMiddleware:
    """Every error answer under the API and the webhooks is API.md's JSON envelope.

    DRF's exception handler and the error handlers of shop.core.views give it already;
    this catches what neither sees: a plain view's 405 (`require_POST`), a DRF view
    rendered by a non-JSON renderer (the schema, the docs page), Django's technical pages
    with DEBUG, anything a middleware answers. First in MIDDLEWARE, so it sees every
    answer last. The body is replaced by the envelope for its status; headers that
    matter to clients (Allow, Retry-After) and cookies are kept."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_json_path(request)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            replacement = json_error(response.status_code)
            for header in _KEPT_HEADERS:
                if header in response:
                    replacement[header] = response[header]
            replacement.cookies = response.cookies
            return replacement
        return response


# Django's session keys are 32 characters of a-z and 0-9 (`SessionBase._get_new_session_key`);
# shorter ones are left to Django, which refuses keys under 8 characters without a lookup.
_SESSION_KEY = re.compile(r"[a-z0-9]{1,64}\Z")


class SessionCookieShapeMiddleware:
    """Drops a session cookie that no session key could look like.

    The session store looks the cookie's value up in the cache and then in PostgreSQL,
    which refuses NUL (a cookie can carry one as `"\\000"`): that was a 500 on any page.
    A malformed cookie is now no session at all, as an unknown one already is. Before
    the page cache, which serves visitors without a session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        name = settings.SESSION_COOKIE_NAME
        value = request.COOKIES.get(name)
        if value is not None and not _SESSION_KEY.match(value):
            del request.COOKIES[name]
        return self.get_response(request)
