"""Serializers shared by every app's API: the error envelope of API.md, for the OpenAPI schema."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every non-2xx answer: `{"code", "message"}`, plus `fields` when `code` is `invalid`."""

    code = serializers.CharField(help_text="A stable lower-case word such as `invalid`.")
    message = serializers.CharField(help_text="A human-readable explanation.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field errors: `{field: [message, ...]}`; only with `code` = `invalid`.",
    )


def error_response(description: str) -> OpenApiResponse:
    """An error answer for `extend_schema(responses={404: error_response("Not found.")})`."""
    return OpenApiResponse(response=ErrorSerializer, description=description)
