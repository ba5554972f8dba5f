from django.utils.translation import gettext_lazy as _

from shop.core.errors import ConflictError, NotFoundError, PermissionDeniedError


class NotPurchased(PermissionDeniedError):
    code = "not_purchased"
    default_message = _("Only shoppers with a paid order holding this product can review it.")


class AlreadyReviewed(ConflictError):
    code = "already_reviewed"
    default_message = _("You have already reviewed this product.")


class ModerationNotAllowed(PermissionDeniedError):
    """Publishing, holding and hiding reviews is for platform staff, and never for the staff
    of the merchant whose product is reviewed."""

    code = "moderation_not_allowed"
    default_message = _("Only the shop's moderators can publish, hold or hide reviews.")


class NotMerchantStaff(PermissionDeniedError):
    code = "not_merchant_staff"
    default_message = _("Only a merchant's staff can reply to reviews of its products.")


class ReviewNotFound(NotFoundError):
    """No such review, or one of a product the user's merchants do not sell: the same
    answer, so staff of one merchant learn nothing about another's reviews."""

    default_message = _("No such review.")


class AlreadyReplied(ConflictError):
    code = "already_replied"
    default_message = _("This review has a reply already; a review gets one reply.")
