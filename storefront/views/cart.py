"""Cart pages. Anonymous shoppers keep their cart in the session and logged-in shoppers
in the database; both go through the same services, so the same rules apply. Nothing
here is cached: every answer is personal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from cart import selectors, services
from cart.forms import CartAddForm, CartLineUpdateForm
from cart.selectors import CartView
from reviews.selectors import cart_recommendations
from shop.core.errors import DomainError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _cart_for(request: HttpRequest) -> CartView:
    if request.user.is_authenticated:
        return selectors.cart_get_for_user(user=request.user)
    return selectors.cart_get_for_session(
        session_lines=request.session.get(services.SESSION_KEY, {}),
        session_prices=request.session.get(services.SESSION_PRICES_KEY, {}),
    )


def _error_messages(
    request: HttpRequest, errors: Mapping[str, Iterable[StrOrPromise | ValidationError]]
) -> None:
    """One message per error of a form's `errors` or a ValidationError's `message_dict`.

    A form's ErrorList yields text, though it is typed as holding ValidationErrors too."""
    for field_messages in errors.values():
        for message in field_messages:
            messages.error(request, str(message))


def _safe_next(request: HttpRequest) -> str | None:
    """`next` when it is a path on this site. Only paths that start with "/": `redirect()`
    reads anything else as a URL name to reverse ("NaN" was a NoReverseMatch, a 500)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _back_to_product(request: HttpRequest, variant_id: int | None) -> HttpResponseRedirect:
    """Back where the shopper came from: `next`, else the variant's product page."""
    target = _safe_next(request)
    if target is None and variant_id is not None:
        target = selectors.variant_product_url(variant_id=variant_id)
    return HttpResponseRedirect(target or reverse("cart:detail"))


@require_safe
@never_cache
def cart_detail_view(request: HttpRequest) -> HttpResponse:
    cart = _cart_for(request)
    products = list({line.variant.product.pk: line.variant.product for line in cart.lines}.values())
    return render(
        request,
        "cart/detail.html",
        {
            "cart": cart,
            # "You may also like": bought with the cart's first product, minus the cart.
            "recommendations": cart_recommendations(products=products),
            # The header shows this too; the lines already loaded say it without a query.
            "cart_count": cart.count,
            "max_quantity": settings.MAX_LINE_QUANTITY,
        },
    )


@require_POST
@never_cache
def cart_add_view(request: HttpRequest) -> HttpResponse:
    form = CartAddForm(request.POST)
    if not form.is_valid():
        _error_messages(request, form.errors)
        variant_id = form.cleaned_data.get("variant")
        return _back_to_product(request, variant_id)
    variant_id = form.cleaned_data["variant"]
    quantity = form.cleaned_data["quantity"]
    try:
        if request.user.is_authenticated:
            services.cart_add_item(user=request.user, variant_id=variant_id, quantity=quantity)
        else:
            services.session_cart_add_item(
                session=request.session, variant_id=variant_id, quantity=quantity
            )
    except ValidationError as exc:
        _error_messages(request, exc.message_dict)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Added to your cart."))
    return _back_to_product(request, variant_id)


@require_POST
@never_cache
def cart_update_view(request: HttpRequest, line_id: int) -> HttpResponse:
    """Change a line's quantity. For a session cart the line id is the variant id."""
    form = CartLineUpdateForm(request.POST)
    if not form.is_valid():
        _error_messages(request, form.errors)
        return redirect("cart:detail")
    quantity = form.cleaned_data["quantity"]
    try:
        if request.user.is_authenticated:
            services.cart_line_update(user=request.user, line_id=line_id, quantity=quantity)
        else:
            services.session_cart_line_update(
                session=request.session, variant_id=line_id, quantity=quantity
            )
    except ValidationError as exc:
        _error_messages(request, exc.message_dict)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Your cart was updated."))
    return redirect("cart:detail")


@require_POST
@never_cache
def cart_remove_view(request: HttpRequest, line_id: int) -> HttpResponse:
    try:
        if request.user.is_authenticated:
            services.cart_line_remove(user=request.user, line_id=line_id)
        else:
            services.session_cart_line_remove(session=request.session, variant_id=line_id)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The item was removed from your cart."))
    return redirect("cart:detail")
