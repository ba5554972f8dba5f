"""Domain errors: raised by services, mapped to HTTP by shop.core.api.exception_handler."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class DomainError(Exception):
    code: str = "error"
    default_message: StrOrPromise = _("The request could not be completed.")
    status_code: int = 400

    def __init__(
        self,
        message: StrOrPromise | None = None,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message: StrOrPromise = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        self.extra: dict[str, Any] = extra or {}
        super().__init__(str(self.message))


class NotFoundError(DomainError):
    code = "not_found"
    default_message = _("Not found.")
    status_code = 404


class PermissionDeniedError(DomainError):
    code = "permission_denied"
    default_message = _("You are not allowed to do this.")
    status_code = 403


class ConflictError(DomainError):
    code = "conflict"
    default_message = _("This conflicts with the current state.")
    status_code = 409


class ThrottledError(DomainError):
    code = "throttled"
    default_message = _("Too many attempts. Try again later.")
    status_code = 429

    def __init__(
        self,
        message: StrOrPromise | None = None,
        *,
        retry_after: int,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, code=code, extra=extra)


class PaymentFailed(DomainError):
    code = "payment_failed"
    default_message = _("The payment failed.")
    status_code = 402
