from decimal import Decimal

from django import template
from django.middleware.csrf import get_token
from django.utils.html import format_html
from django.utils.safestring import SafeString

from shop.core.pagecache import CSRF_PLACEHOLDER, is_page_cache_candidate
from shop.core.security import csp_nonce_placeholder

register = template.Library()


@register.simple_tag(takes_context=True)
def csrf_input(context: template.Context) -> SafeString:
    """Like {% csrf_token %}, but safe inside pages cached for anonymous visitors."""
    request = context["request"]
    token = CSRF_PLACEHOLDER if is_page_cache_candidate(request) else get_token(request)
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


@register.simple_tag(takes_context=True)
def csp_nonce(context: template.Context) -> str:
    """This request's Content-Security-Policy nonce, for `<script nonce="{% csp_nonce %}">`;
    safe inside pages cached for anonymous visitors (each visitor gets a fresh one)."""
    request = context["request"]
    if is_page_cache_candidate(request):
        return csp_nonce_placeholder()
    return str(getattr(request, "csp_nonce", ""))


@register.filter
def money(amount: Decimal | int | str | None, currency: str = "USD") -> str:
    """`19.9, "USD"` -> `USD 19.90`; amounts are Decimals, never floats."""
    if amount is None or amount == "":
        return ""
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    return f"{currency} {value.quantize(Decimal('0.01'))}"
