"""The order page's parcels and returns: each shipment with its tracking link and timeline,
the returns asked for, and the "Return items" form for delivered lines."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest
from fulfilment.forms import ReturnRequestForm
from fulfilment.models import Shipment
from fulfilment.selectors import (
    Returnable,
    order_returnable,
    order_returnable_from,
    return_list_for_order_page,
    shipment_list_for_order_page,
)
from fulfilment.services.returns import return_cancel, return_request
from orders import selectors
from orders.models import Order
from shop.core.errors import DomainError


def _return_form(
    order: Order, data: Any = None, *, returnable: dict[int, Returnable] | None = None
) -> ReturnRequestForm | None:
    """The form for the lines that can still go back (none: no form)."""
    now = timezone.now()
    if returnable is None:
        returnable = order_returnable(order=order)
    lines = [
        (line, returnable[line.pk].quantity)
        for line in order.lines.all()
        if line.pk in returnable
        and returnable[line.pk].quantity
        and returnable[line.pk].until >= now
    ]
    return ReturnRequestForm(data, lines=lines, prefix="return") if lines else None


def order_fulfilment_context(order: Order) -> dict[str, Any]:
    """What the order page shows of parcels and returns: one query for the parcels (with
    their timelines and lines), one more for the returns (with their lines) once something
    is delivered, however many there are."""
    shipments = shipment_list_for_order_page(order=order)
    if not any(shipment.status == Shipment.Status.DELIVERED for shipment in shipments):
        return {"shipments": shipments, "returns": [], "return_form": None}
    returns = return_list_for_order_page(order=order)
    returnable = order_returnable_from(shipments=shipments, returns=returns)
    return {
        "shipments": shipments,
        "returns": returns,
        "return_form": _return_form(order, returnable=returnable),
    }


@login_required
@never_cache
@require_POST
def order_return_request_view(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    """The "Return items" form: delivered lines of one merchant, a reason."""
    order = get_object_or_404(selectors.order_list_for_customer(user=request.user), number=number)
    form = _return_form(order, request.POST)
    if form is None:
        messages.error(request, _("Nothing of this order can be returned now."))
        return redirect("orders:detail", number=number)
    if form.is_valid():
        try:
            created = return_request(
                order_id=order.pk,
                user=request.user,
                lines=form.quantities(),
                reason=form.cleaned_data["reason"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as exc:
            for errors in exc.message_dict.values():
                for error in errors:
                    messages.error(request, error)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(
                request,
                _("Return %(id)s is requested; the merchant answers by email.")
                % {"id": created.pk},
            )
            return redirect("orders:detail", number=number)
    else:
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, str(message))
    return redirect(f"{order.get_absolute_url()}#returns")


@login_required
@never_cache
@require_POST
def order_return_cancel_view(
    request: AuthenticatedHttpRequest, number: str, return_id: int
) -> HttpResponse:
    order = get_object_or_404(selectors.order_list_for_customer(user=request.user), number=number)
    try:
        return_cancel(return_id=return_id, user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Your return is withdrawn."))
    return redirect(f"{order.get_absolute_url()}#returns")
