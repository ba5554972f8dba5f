"""The product page's review form posts here; on bad input the product page is rendered
again with the form and its errors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest
from catalog.selectors import product_get_for_page
from reviews import services
from reviews.forms import ReviewForm
from reviews.models import Review
from shop.core.errors import DomainError
from storefront.views.catalog import product_detail_render


@login_required
@require_POST
@never_cache
def review_create_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    product = product_get_for_page(slug=slug)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            review = services.review_create(
                user=request.user,
                product=product,
                rating=form.cleaned_data["rating"],
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        except DomainError as exc:  # not a buyer, or reviewed already
            messages.error(request, str(exc.message))
            return redirect(f"{product.get_absolute_url()}#reviews")
        else:
            if review.status == Review.Status.PENDING:
                messages.success(
                    request, _("Thank you! Your review awaits approval before it is shown.")
                )
            else:
                messages.success(request, _("Thank you! Your review is published."))
            return redirect(f"{product.get_absolute_url()}#reviews")
    # Invalid input: the product page again, with the form, its input and its errors.
    return product_detail_render(request, product, review_form=form)
