"""Serializers shared by every app's API: the error envelope of API.md, for the OpenAPI schema."""

from typing import Any

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every non-2xx answer: `{"code", "message"}`, plus `fields` when `code` is `invalid`."""

    code = serializers.CharField(help_text="A stable lower-case word such as `invalid`.")
    message = serializers.CharField(help_text="A human-readable explanation.")
    # DRF's serializer metaclass takes declared fields off the class, so this never shadows
    # Serializer.fields at run time; the stubs cannot express that.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field errors: `{field: [message, ...]}`; only with `code` = `invalid`.",
    )


def error_response(description: str) -> OpenApiResponse:
    """An error answer for `extend_schema(responses={404: error_response("Not found.")})`."""
    return OpenApiResponse(response=ErrorSerializer, description=description)


NO_NUL = RegexValidator(r"^[^\x00]*$", _("Null characters are not allowed."))


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text,
    so input that breaks the documented type is a 400, as the schema promises."""

    default_error_messages = {"invalid": _("Not a valid string.")}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # PostgreSQL cannot store NUL; DRF refuses it, and this puts that rule in the schema.
        self.validators.append(NO_NUL)

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CountryField(serializers.ChoiceField):
    """An ISO 3166-1 alpha-2 code; lower case is accepted and stored upper case."""

    def __init__(self, **kwargs: Any) -> None:
        from shop.core.countries import COUNTRY_CODES

        kwargs.setdefault("help_text", "ISO 3166-1 alpha-2 code such as `US`.")
        super().__init__(choices=sorted(COUNTRY_CODES), **kwargs)

    def to_internal_value(self, data: Any) -> str:  # any JSON value; choices decide
        if isinstance(data, str):
            data = data.strip().upper()
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """Only JSON `true`/`false`: `0`, `"yes"` and friends are a 400, as the schema says."""

    def to_internal_value(self, data: object) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """Only JSON integers: `"5"` and `5.0` are a 400, as the schema says."""

    def to_internal_value(self, data: object) -> int:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)
