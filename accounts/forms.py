from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.errors import InvalidCredentials
from accounts.models import User
from shop.core.clientip import client_limit_key
from shop.core.errors import ThrottledError


class RegisterForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def register(self, request: HttpRequest) -> bool:
        """Register through the service; its errors land on this form. True when done,
        which says nothing about whether the email was new (the service's point)."""
        try:
            services.user_register(
                email=self.cleaned_data["email"],
                password=self.cleaned_data["password"],
                name=self.cleaned_data["name"],
                client_address=client_limit_key(request),
                site_url=request.build_absolute_uri("/"),
            )
        except ThrottledError as exc:
            self.add_error(None, ValidationError(exc.message, code=exc.code))
            return False
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
            return False
        return True


class LoginForm(forms.Form):
    email = forms.CharField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        self.request = request
        self.user: User | None = None
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        email, password = cleaned.get("email"), cleaned.get("password")
        if email and password:
            try:
                self.user = services.user_authenticate(
                    email=email, password=password, request=self.request
                )
            except (InvalidCredentials, ThrottledError) as exc:
                raise ValidationError(exc.message, code=exc.code) from exc
        return cleaned


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's log-in through the same service (and limit) as every other log-in,
    saying so when the limit refuses (Django's form could only say "wrong password")."""

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            try:
                self.user_cache = services.user_authenticate(
                    email=email, password=password, request=self.request
                )
            except ThrottledError as exc:
                raise ValidationError(exc.message, code=exc.code) from exc
            except InvalidCredentials as exc:
                raise self.get_invalid_login_error() from exc
            self.confirm_login_allowed(self.user_cache)  # active staff only
        return self.cleaned_data


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form, with the old password checked as a log-in is: limited and counted,
    so a borrowed session cannot guess its way to the password."""

    def __init__(self, user: User, *args: Any, request: HttpRequest | None = None, **kwargs: Any):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        old_password: str = self.cleaned_data["old_password"]
        try:
            ok = services.user_password_verify(
                user=self.user, password=old_password, request=self.request
            )
        except ThrottledError as exc:
            raise ValidationError(exc.message, code=exc.code) from exc
        if not ok:
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form, limited: requests per client address at REGISTER_RATE (a form error,
    the same for any email), and a few mails per account per hour (silently, the answer
    never says whether an email has an account)."""

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any):
        self.request = request
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if self.request is not None and not self.errors:
            try:
                services.password_reset_throttle(client_address=client_limit_key(self.request))
            except ThrottledError as exc:
                raise ValidationError(exc.message, code=exc.code) from exc
        return cleaned

    def get_users(self, email: str) -> Any:
        # The account log-in would find for this spelling (NFKC, any case), then Django's
        # own checks (active, usable password, the same address); a few mails an hour each.
        user_id = User.objects.id_for_email(email)
        if user_id is None:
            return
        for user in super().get_users(User.objects.get(pk=user_id).email):
            if services.password_reset_mail_allowed(user=user):
                yield user
