from django.utils.translation import gettext_lazy as _

from shop.core.errors import ConflictError, DomainError, NotFoundError, PermissionDeniedError


class NotMerchantStaff(PermissionDeniedError):
    code = "not_merchant_staff"
    default_message = _("Only a merchant's staff can do this.")


class ShipmentNotFound(NotFoundError):
    default_message = _("No such order or line of yours.")


class ReturnNotFound(NotFoundError):
    default_message = _("No such return.")


class NotReturnable(ConflictError):
    code = "not_returnable"
    default_message = _("These items cannot be returned.")


class InvalidReturnTransition(ConflictError):
    code = "invalid_transition"
    default_message = _("This return cannot make that change in its current state.")


class CarrierUnavailable(DomainError):
    code = "not_found"
    default_message = _("No such carrier.")
    status_code = 404
