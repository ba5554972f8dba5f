from django.utils.translation import gettext_lazy as _

from shop.core.errors import DomainError


class InvalidCredentials(DomainError):
    code = "not_authenticated"
    default_message = _("No active account was found with this email and password.")
    status_code = 401


class TokenInvalid(DomainError):
    code = "not_authenticated"
    default_message = _("The token is invalid, expired or revoked.")
    status_code = 401
