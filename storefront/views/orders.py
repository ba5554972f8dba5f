"""Checkout and order pages: the cart, the address book and shipping methods feed checkout;
the order page shows the order with its payments. Everything here is personal: login
required, never cached."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.http import AuthenticatedHttpRequest
from accounts.models import Address, User
from cart.selectors import CartView, cart_get_for_user
from catalog.errors import InsufficientStock
from orders import selectors, services
from orders.errors import EmptyCart, InvalidTransition
from orders.forms import NEW_ADDRESS, CheckoutAddressForm, CheckoutPlaceForm
from orders.models import Order
from orders.services import ShippingAddress
from payments import selectors as payment_selectors
from payments.forms import PaymentStartForm
from payments.services.cancel import order_cancel
from payments.services.start import payment_start
from shipping.selectors import shipping_method_list
from shop.core.errors import DomainError
from shop.core.idempotency import IdempotencyKeyReused, idempotent_call
from shop.core.paging import page_number
from storefront.views.fulfilment import order_fulfilment_context

HISTORY_PAGE_SIZE = 20
# The address chosen in step 1, kept for step 2 (and to prefill the next checkout).
SESSION_ADDRESS = "checkout_address"
IDEMPOTENCY_SCOPE = "orders.checkout"


def _shortage_message(exc: InsufficientStock, cart: CartView) -> list[str]:
    """One sentence per short line, naming the product and variant as the cart shows them."""
    names = {item.variant.pk: f"{item.product_name} ({item.variant_name})" for item in cart.lines}
    lines = exc.extra.get("lines", [])
    if not lines:
        return [str(exc.message)]
    return [
        _("%(name)s: only %(available)s available, your cart has %(requested)s.")
        % {
            "name": names.get(line["variant"], _("An item")),
            "available": line["available"],
            "requested": line["requested"],
        }
        for line in lines
    ]


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def checkout_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Step 1: review the cart and choose where it goes."""
    cart = cart_get_for_user(user=request.user)
    addresses = list(account_selectors.address_list_for_user(user=request.user))
    if request.method == "POST":
        form = CheckoutAddressForm(request.POST, addresses=addresses)
        if not cart.lines:
            form.add_error(None, EmptyCart.default_message)
        elif form.is_valid():
            address = form.shipping_address()
            if form.is_new_address and form.cleaned_data["save_address"]:
                try:
                    _save_to_address_book(request.user, address, addresses)
                except ValidationError as exc:
                    form.add_service_errors(exc)
            if form.is_valid():
                request.session[SESSION_ADDRESS] = address.as_dict()
                return redirect("orders:checkout_shipping")
    else:
        initial = _initial_address(request.session.get(SESSION_ADDRESS), addresses)
        form = CheckoutAddressForm(addresses=addresses, initial=initial)
    return render(request, "orders/checkout_address.html", {"cart": cart, "form": form})


def _matching(address_data: dict[str, str], addresses: Iterable[Address]) -> Address | None:
    for existing in addresses:
        if all(getattr(existing, field, None) == value for field, value in address_data.items()):
            return existing
    return None


def _initial_address(
    address_data: dict[str, str] | None, addresses: Iterable[Address]
) -> dict[str, str]:
    """Coming back from step 2: the address chosen before is selected again."""
    if not address_data:
        return {}
    existing = _matching(address_data, addresses)
    if existing is not None:
        return {"address": str(existing.pk)}
    return {**address_data, "address": NEW_ADDRESS}


def _save_to_address_book(
    user: User, address: ShippingAddress, addresses: Iterable[Address]
) -> None:
    # Step 1 submitted twice (or back and forth) must not fill the book with copies.
    if _matching(address.as_dict(), addresses) is None:
        account_services.address_create(user=user, is_default=False, **address.as_dict())


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def checkout_shipping_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Step 2: choose a shipping method for the address's country, review, place the order."""
    try:
        address = ShippingAddress(**request.session[SESSION_ADDRESS])
    except (KeyError, TypeError):  # no address chosen yet, or a session from older code
        return redirect("orders:checkout")
    cart = cart_get_for_user(user=request.user)
    methods = shipping_method_list(country=address.country)

    if request.method != "POST":
        form = CheckoutPlaceForm(
            methods=methods,
            initial={"idempotency_key": uuid.uuid4(), "shipping_method": methods.first()},
        )
    else:
        form = CheckoutPlaceForm(request.POST, methods=methods)
        if form.is_valid():
            number, replayed = _place(request, form, cart=cart, address=address)
            if number is not None:
                if not replayed:
                    messages.success(
                        request,
                        _("Thank you! Your order %(number)s is placed.") % {"number": number},
                    )
                return redirect("orders:detail", number=number)
    return render(
        request,
        "orders/checkout_shipping.html",
        {"cart": cart, "form": form, "address": address, "has_methods": methods.exists()},
    )


def _place(
    request: AuthenticatedHttpRequest,
    form: CheckoutPlaceForm,
    *,
    cart: CartView,
    address: ShippingAddress,
) -> tuple[str | None, bool]:
    """Place through the idempotency table: a second submit of the same page gets the
    first one's order. Errors become form errors; returns (order number or None, replayed)."""
    method = form.cleaned_data["shipping_method"]

    def run() -> tuple[int, dict[str, Any]]:
        order = services.order_place(
            user=request.user, shipping_method_id=method.pk, address=address
        )
        return 201, {"number": order.number}

    try:
        _status, body, replayed = idempotent_call(
            user=request.user,
            scope=IDEMPOTENCY_SCOPE,
            key=str(form.cleaned_data["idempotency_key"]),
            payload={"address": address.as_dict(), "shipping_method": method.pk},
            run=run,
        )
    except InsufficientStock as exc:
        form.add_error(None, _shortage_message(exc, cart))
    except EmptyCart as exc:
        form.add_error(None, str(exc.message))
    except IdempotencyKeyReused:
        form.add_error(
            None,
            _("This page was already used to place an order. Check your orders, or reload."),
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    except DomainError as exc:  # e.g. currency_mismatch: checkout refuses, it never crashes
        form.add_error(None, str(exc.message))
    else:
        return body["number"], replayed
    return None, False


@login_required
@never_cache
@require_safe
def order_detail_view(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    order = get_object_or_404(selectors.order_list_for_customer(user=request.user), number=number)
    payments = list(payment_selectors.payment_list_for_order(order=order))
    pay_form = None
    if order.status == order.Status.PENDING_PAYMENT:
        pay_form = PaymentStartForm(initial={"idempotency_key": uuid.uuid4()})
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "latest_payment": payments[-1] if payments else None,
            "pay_form": pay_form,
            **order_fulfilment_context(order),
            "history": list(selectors.order_history_for_customer(order=order)),
        },
    )


@login_required
@never_cache
@require_POST
def order_pay_view(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    """The "Pay" button: start a payment and send the shopper to the provider's page.

    The form's one-time key makes a double submit reuse the first payment."""
    try:
        order = payment_selectors.payment_order_get_for_customer(user=request.user, number=number)
    except Order.DoesNotExist:
        raise Http404 from None
    form = PaymentStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a way to pay."))
        return redirect("orders:detail", number=number)
    provider = form.cleaned_data["provider"]

    def run() -> tuple[int, dict[str, Any]]:
        payment = payment_start(order=order, provider_name=provider)
        return 201, {"redirect_url": payment.redirect_url, "client_secret": payment.client_secret}

    try:
        _status, body, _replayed = idempotent_call(
            user=request.user,
            scope=f"payments.pay:{number}",
            key=str(form.cleaned_data["idempotency_key"]),
            payload={"provider": provider},
            run=run,
            external=True,  # the provider is called outside any transaction
        )
    except IdempotencyKeyReused:
        messages.error(request, _("This page was already used to pay. Reload it and try again."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        if body["redirect_url"]:
            return redirect(body["redirect_url"])
        messages.info(
            request,
            _(
                "Your card payment is open: enter your card in the Bazaar mobile app (it "
                "confirms the payment with Stripe). This page shows when it is paid."
            ),
        )
    return redirect("orders:detail", number=number)


@login_required
@never_cache
@require_POST
def order_cancel_view(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    order = get_object_or_404(selectors.order_list_for_customer(user=request.user), number=number)
    try:
        order_cancel(order_id=order.pk, by=request.user)
    except InvalidTransition as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Your order is cancelled."))
    return redirect("orders:detail", number=number)


@login_required
@never_cache
@require_safe
def order_history_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    orders = selectors.order_list_for_customer(user=request.user)
    page = Paginator(orders, HISTORY_PAGE_SIZE).get_page(page_number(request.GET.get("page")))
    return render(
        request,
        "orders/order_history.html",
        {"page_obj": page, "orders": list(page.object_list)},
    )
