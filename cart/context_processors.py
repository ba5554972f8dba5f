from django.utils.functional import SimpleLazyObject


def cart(request):
    """`cart_count` for the header; computed only if a template shows it."""

    def count() -> int:
        from cart.selectors import cart_count_for_user
        from cart.services import SESSION_KEY

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cart_count_for_user(user=user)
        session = getattr(request, "session", None)
        return sum(session.get(SESSION_KEY, {}).values()) if session is not None else 0

    return {"cart_count": SimpleLazyObject(count)}
