from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def cart(request: HttpRequest) -> dict[str, SimpleLazyObject]:
    """`cart_count` for the header; computed only if a template shows it."""

    def count() -> int:
        from cart.selectors import cart_count_for_user
        from cart.services import SESSION_KEY

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cart_count_for_user(user=user)
        # No session cookie, no cart: skip loading an empty session (pages cached for
        # anonymous visitors are rendered this way, and must not vary on the session).
        if settings.SESSION_COOKIE_NAME not in getattr(request, "COOKIES", {}):
            return 0
        session = getattr(request, "session", None)
        return sum(session.get(SESSION_KEY, {}).values()) if session is not None else 0

    return {"cart_count": SimpleLazyObject(count)}
