"""Writes for accounts, one module per concern; pages, API, admin and tasks import them
from here (`from accounts import services`)."""

from accounts.services.addresses import (
    ADDRESS_FIELDS,
    address_create,
    address_delete,
    address_update,
)
from accounts.services.login import (
    login_account_key,
    login_address,
    login_failure_check,
    login_failure_count,
    login_failure_record,
    user_authenticate,
    user_password_verify,
)
from accounts.services.passwords import password_reset_mail_allowed, password_reset_throttle
from accounts.services.tokens import (
    TokenPair,
    token_pair_issue,
    token_refresh,
    token_revoke,
    tokens_flush_expired,
)
from accounts.services.users import Registration, user_register, user_update

__all__ = [
    "ADDRESS_FIELDS",
    "Registration",
    "TokenPair",
    "address_create",
    "address_delete",
    "address_update",
    "login_account_key",
    "login_address",
    "login_failure_check",
    "login_failure_count",
    "login_failure_record",
    "password_reset_mail_allowed",
    "password_reset_throttle",
    "token_pair_issue",
    "token_refresh",
    "token_revoke",
    "tokens_flush_expired",
    "user_authenticate",
    "user_password_verify",
    "user_register",
    "user_update",
]
