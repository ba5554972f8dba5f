"""Users: registration and profile."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User

_EMAIL_TAKEN = _("A user with this email address already exists.")


def user_register(*, email: str, password: str, name: str = "") -> User:
    """Create an active shopper; the password must pass every configured validator."""
    email = User.objects.normalize_email((email or "").strip())
    user = User(email=email, name=(name or "").strip())
    errors: dict[str, list] = {}
    try:
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "email" not in errors and User.objects.filter(email__iexact=email).exists():
        errors["email"] = [_EMAIL_TAKEN]
    try:
        # After full_clean, so UserAttributeSimilarity compares against the cleaned email/name.
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration took the email after our check
        raise ValidationError({"email": [_EMAIL_TAKEN]}) from exc
    password_validation.password_changed(password, user=user)
    return user


def user_update(*, user: User, name: str) -> User:
    """Change the profile fields a user may edit themselves."""
    user.name = (name or "").strip()
    user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    user.save(update_fields=["name"])
    return user
