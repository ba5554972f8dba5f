"""Request types for views that only logged-in users reach.

To a type checker `request.user` is `User | AnonymousUser`. Behind `@login_required` (pages),
the admin site (its views and actions) or DRF's `IsAuthenticated` (the API's default
permission) it is always a `User`; annotating the view's request with these types says so,
and the view hands `request.user` to services that need a `User` with no cast or assert.
They are annotations only: the decorator, the admin site or the permission is what makes
them true, so use them on such views alone.
"""

from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a page view behind `@login_required`, or of the admin site."""

    user: User


class AuthenticatedRequest(Request):
    """The request of an API view behind `IsAuthenticated`."""

    user: User
