from django.utils.translation import gettext_lazy as _

from shop.core.errors import ConflictError, PermissionDeniedError


class NotPurchased(PermissionDeniedError):
    code = "not_purchased"
    default_message = _("Only shoppers with a paid order holding this product can review it.")


class AlreadyReviewed(ConflictError):
    code = "already_reviewed"
    default_message = _("You have already reviewed this product.")
