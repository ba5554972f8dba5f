"""API tokens: JWT pairs whose refresh tokens rotate, can be revoked, and die with the password.

Each log-in starts a family (accounts.models.TokenFamily) whose id every token of it
carries. A refresh hands out the next refresh token and blacklists the one used
(simplejwt's token_blacklist app keeps that record); the family row says which token is
the current one and is locked while it changes, so two refreshes racing with one token get
one answer between them. An older token of the family coming back (a leaked copy being
used, or the owner's copy after a thief used it first) revokes the family: whoever holds
its newest token logs in again.

A changed password ends every earlier token: tokens carry a digest of the password hash
(SIMPLE_JWT CHECK_REVOKE_TOKEN), which the API's JWT authentication compares on every
request (access tokens stop working at once, for free: the user row is read anyway) and
`token_refresh` compares too (simplejwt's refresh does not).

Revoking (log-out) ends the family's refresh tokens. Its access tokens live out their
JWT_ACCESS_MINUTES: checking the family on every API request would cost a query each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch, get_md5_hash_password

from accounts.errors import TokenInvalid
from accounts.models import TokenFamily, User

FAMILY_CLAIM = "family"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


class _SignedRefreshToken(RefreshToken):
    """A refresh token checked for signature, expiry and type but not the blacklist:
    whether it may still be used is its family's to say, under the family's lock, so a
    reused token is recognised as one instead of merely refused."""

    def check_blacklist(self) -> None:
        return None


def _decode(raw: str) -> _SignedRefreshToken:
    try:
        # simplejwt annotates the encoded token as a Token; it is the string.
        return _SignedRefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise TokenInvalid() from exc


def _expiry(token: RefreshToken) -> datetime:
    return datetime_from_epoch(token["exp"])


def _lock_family(token: RefreshToken) -> TokenFamily | None:
    family_id, user_id = token.get(FAMILY_CLAIM), token.get(api_settings.USER_ID_CLAIM)
    if not isinstance(family_id, int) or not str(user_id or "").isdigit():
        return None  # not one of ours (no family): nothing may refresh it
    return (
        TokenFamily.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=family_id, user_id=int(str(user_id)))
        .first()
    )


def _revoke(family: TokenFamily) -> None:
    if family.revoked_at is None:
        family.revoked_at = timezone.now()
        family.save(update_fields=["revoked_at", "updated_at"])


@transaction.atomic
def token_pair_issue(*, user: User) -> TokenPair:
    """A new access and refresh token for a user who just proved who they are."""
    refresh = RefreshToken.for_user(user)  # writes its OutstandingToken row
    jti = refresh[api_settings.JTI_CLAIM]
    family = TokenFamily.objects.create(user=user, current_jti=jti, expires_at=_expiry(refresh))
    refresh[FAMILY_CLAIM] = family.pk
    OutstandingToken.objects.filter(jti=jti).update(token=str(refresh))
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


@transaction.atomic
def _rotate(token: _SignedRefreshToken) -> TokenPair | None:
    # None (after committing any revocation) when the token may not be used.
    family = _lock_family(token)
    if family is None or family.revoked_at is not None:
        return None
    user = family.user
    if (
        token[api_settings.JTI_CLAIM] != family.current_jti  # an older token came back
        or not user.is_active
        or token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password)
    ):
        _revoke(family)
        return None
    token.blacklist()
    token.set_jti()
    token.set_exp()
    token.set_iat()
    token.outstand()
    family.current_jti = token[api_settings.JTI_CLAIM]
    family.expires_at = _expiry(token)
    family.save(update_fields=["current_jti", "expires_at", "updated_at"])
    return TokenPair(access=str(token.access_token), refresh=str(token))


def token_refresh(*, refresh: str) -> TokenPair:
    """The next access and refresh token; the one given is used up. TokenInvalid when it is
    not the family's current token, its family was revoked, or the password changed."""
    pair = _rotate(_decode(refresh))
    if pair is None:
        raise TokenInvalid()
    return pair


@transaction.atomic
def token_revoke(*, refresh: str) -> None:
    """Log out: this refresh token and every other of its family (rotated from it or
    before it) are refused from now on. Revoking twice is fine."""
    token = _decode(refresh)
    family = _lock_family(token)
    if family is not None:
        _revoke(family)
    token.blacklist()


def tokens_flush_expired() -> int:
    """Delete the records of refresh tokens and families that expired; returns how many.
    Every token of an expired family has expired too (the family lasts as long as its
    newest token), so nothing that still works loses its record."""
    now = timezone.now()
    families, _ = TokenFamily.objects.filter(expires_at__lt=now).delete()
    outstanding, _ = OutstandingToken.objects.filter(expires_at__lt=now).delete()
    return families + outstanding
