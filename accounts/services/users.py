"""Users: registration (which never tells whether an email has an account) and profile."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from accounts.services.limits import client_throttle

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registration:
    """What registering answers: the same shape, and as fresh an `id`, whether the email
    was new (the account's id) or already had an account (an id nobody will ever get)."""

    id: int
    email: str
    name: str


def _unused_user_id() -> int:
    # Taken from the users' own id sequence, so it is the next id as a new account's would
    # be: neither its size nor a gap before the next registration tells the cases apart.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [User._meta.db_table])
        row = cursor.fetchone()
    assert row is not None  # nextval always answers
    return int(row[0])


def _mail(user: User, template: str, *, site_url: str) -> None:
    base = site_url.rstrip("/")
    context = {
        "email": user.email,
        "name": user.get_short_name(),
        "login_url": base + reverse("accounts:login"),
        "reset_url": base + reverse("accounts:password_reset"),
    }
    subject = render_to_string(f"accounts/email/{template}_subject.txt", context)
    body = render_to_string(f"accounts/email/{template}.txt", context)
    try:
        send_mail(" ".join(subject.split()), body, None, [user.email])
    except Exception:
        # The answer must not depend on the mail server either: log it and answer as usual.
        logger.exception("registration mail %s to user %s not sent", template, user.pk)


def user_register(
    *,
    email: str,
    password: str,
    name: str = "",
    client_address: str | None,
    site_url: str,
) -> Registration:
    """Register an account, or tell the owner of a taken email by mail: the answer is the
    same in both cases, so it cannot be used to find out who has an account here.

    Bad input (an invalid email, a weak password) is a ValidationError in both cases.
    `client_address` is throttled at REGISTER_RATE (None: not a client's request, e.g. the
    shell). `site_url` is the site's root, for the links in the mail."""
    if client_address is not None:
        client_throttle(scope="register", client_address=client_address)
    email = User.objects.normalize_email((email or "").strip())
    user = User(email=email, name=(name or "").strip())
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        # After full_clean, so UserAttributeSimilarity compares against the cleaned email/name.
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)

    owner = User.objects.filter(email__iexact=email).first()
    if owner is None:
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # a concurrent registration took the email after our look
            owner = User.objects.filter(email__iexact=email).first()
            if owner is None:
                raise
        else:
            password_validation.password_changed(password, user=user)
            _mail(user, "registration_welcome", site_url=site_url)
            return Registration(id=user.pk, email=user.email, name=user.name)

    # Taken: create nothing, tell the owner. Hash the password all the same so the answer
    # takes as long as a new account's (hashing is by far the slowest step of either).
    make_password(password)
    registration = Registration(id=_unused_user_id(), email=user.email, name=user.name)
    _mail(owner, "registration_taken", site_url=site_url)
    return registration


def user_update(*, user: User, name: str) -> User:
    """Change the profile fields a user may edit themselves."""
    user.name = (name or "").strip()
    user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    user.save(update_fields=["name"])
    return user
