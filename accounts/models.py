from __future__ import annotations

import unicodedata
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.core.countries import validate_country
from shop.core.models import BaseModel


def email_canonical(email: str) -> str:
    """The form two spellings of one address share: NFKC (so the long s, fullwidth
    letters and ligatures become their plain letters) and case-folded, the part before `@` too."""
    return unicodedata.normalize("NFKC", (email or "").strip()).casefold()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        # NFKC first: a fullwidth or compatibility spelling of an address is stored, and
        # looked up, as the plain one (the domain is lower-cased as Django always did).
        return super().normalize_email(unicodedata.normalize("NFKC", email or ""))

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email: str | None) -> User:
        # Emails are unique case-insensitively (UPPER, as iexact compares), so log-in is too.
        return self.get(email__iexact=self.normalize_email(email))

    def id_for_email(self, email: str) -> int | None:
        """The id of the account `email` logs in to (the lookup log-in uses), or None."""
        return (
            self.filter(email__iexact=self.normalize_email(email.strip()))
            .values_list("pk", flat=True)
            .first()
        )


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address; no username."""

    email = models.EmailField(_("email address"), max_length=254, unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Designates whether the user can log into the admin site."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            # Log-in looks emails up with iexact, which is UPPER() on both sides, and UPPER
            # folds more than LOWER does (a dotless i and an i are both I): unique under UPPER
            # too, so a look-up never finds two accounts (and has an index to use).
            models.UniqueConstraint(Upper("email"), name="accounts_user_email_upper_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email)

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email.split("@")[0]


class Address(BaseModel):
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="addresses", verbose_name=_("user")
    )
    full_name = models.CharField(_("full name"), max_length=150)
    line1 = models.CharField(_("address line 1"), max_length=200)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100)
    postal_code = models.CharField(_("postal code"), max_length=20)
    country = models.CharField(
        _("country"),
        max_length=2,
        validators=[validate_country],
        help_text=_("ISO 3166-1 alpha-2 code"),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_default = models.BooleanField(_("default address"), default=False)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default=True), name="accounts_address_one_default"
            ),
            models.CheckConstraint(
                condition=Q(country__regex=r"^[A-Z]{2}$"), name="accounts_address_country_iso"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name}, {self.line1}, {self.city} {self.country}"


class TokenFamily(BaseModel):
    """One API log-in: the refresh tokens that rotation hands out one after another.

    Only the newest (`current_jti`) may be used; an older one coming back means a copy
    leaked, and revoking any of them (log-out, or reuse) ends the whole chain."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="token_families", verbose_name=_("user")
    )
    current_jti = models.CharField(_("current token id"), max_length=255)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API log-in")
        verbose_name_plural = _("API log-ins")

    def __str__(self) -> str:
        return f"{self.user_id}:{self.pk}"
