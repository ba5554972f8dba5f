"""Password reset requests: limited per client address and per account.

A changed password needs nothing here to end earlier log-ins: sessions carry Django's
session hash of the password and JWTs a digest of it (SIMPLE_JWT CHECK_REVOKE_TOKEN,
checked again on refresh in accounts.services.tokens), so every path that changes a
password (the change and reset pages, the admin, the shell) revokes them by itself.
"""

from __future__ import annotations

from accounts.models import User
from accounts.services.limits import WindowCounter, client_throttle

# Reset mails one account receives in an hour at most, whoever asks: enough for someone who
# lost a first mail; a flood stops here. (The owner is not locked out by it: the mails
# that were sent hold working links.)
PASSWORD_RESET_MAILS_PER_HOUR = 5


def password_reset_throttle(*, client_address: str) -> None:
    """Count one reset request from the address; ThrottledError past REGISTER_RATE."""
    client_throttle(scope="password-reset", client_address=client_address)


def password_reset_mail_allowed(*, user: User) -> bool:
    """Whether one more reset mail may go to this account now (and count it if so)."""
    counter = WindowCounter(f"password-reset-mails:user:{user.pk}", window=60 * 60)
    return counter.hit().count <= PASSWORD_RESET_MAILS_PER_HOUR
