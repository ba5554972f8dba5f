"""Security headers on every answer: Content-Security-Policy (django-csp) and Permissions-Policy.

Both middlewares sit outside the anonymous page cache, so a cached page gets the headers
too. A page that needs an inline script gives it `nonce="{% csp_nonce %}"`: in a page that
may be cached the tag writes a placeholder, and the CSP middleware puts this request's
nonce in its place, so a cached page never carries another visitor's (stale) nonce.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.crypto import salted_hmac

PERMISSIONS_POLICY_HEADER = "Permissions-Policy"


@cache
def csp_nonce_placeholder() -> str:
    """What `{% csp_nonce %}` writes into a cacheable page. Derived from SECRET_KEY, so it is
    the same in every process (a page cached by one is served by another) and nobody who
    can put text into a page (a review, a product name) can guess it and borrow the nonce."""
    digest = salted_hmac("bazaar.csp-nonce-placeholder", "v1").hexdigest()[:32]
    return f"bazaar-csp-nonce-{digest}"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, plus the nonce placeholder of cacheable pages."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        placeholder = csp_nonce_placeholder().encode()
        # A streamed answer has no `content` (and is never a cached page).
        if isinstance(response, HttpResponse) and placeholder in response.content:
            # Reading the nonce makes django-csp put it into the header below.
            nonce = str(getattr(request, "csp_nonce", ""))
            response.content = response.content.replace(placeholder, nonce.encode())
        return super().process_response(request, response)


def permissions_policy_header(policy: Mapping[str, Sequence[str]]) -> str:
    """`{"camera": [], "payment": ["self"]}` -> `camera=(), payment=(self)`."""
    return ", ".join(f"{feature}=({' '.join(allowed)})" for feature, allowed in policy.items())


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY (browser features the site may use) on every answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.header = permissions_policy_header(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.header and PERMISSIONS_POLICY_HEADER not in response:
            response[PERMISSIONS_POLICY_HEADER] = self.header
        return response
