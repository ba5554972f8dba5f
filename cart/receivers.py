from typing import Any

from django.http import HttpRequest

from accounts.models import User
from cart.services import SESSION_KEY, SESSION_PRICES_KEY, cart_merge_session


def merge_session_cart_on_login(
    sender: type[User], request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """Django's login signal: the anonymous cart joins the user's cart."""
    if request is None or not hasattr(request, "session"):
        return
    session_lines = request.session.pop(SESSION_KEY, None)
    session_prices = request.session.pop(SESSION_PRICES_KEY, None)
    if session_lines:
        cart_merge_session(
            user=user, session_lines=session_lines, session_prices=session_prices or {}
        )
