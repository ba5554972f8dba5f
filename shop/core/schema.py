"""OpenAPI generation: every operation documents the error answers it can give.

API.md fixes one error envelope for every non-2xx answer; rather than repeating
`extend_schema(responses=...)` on each view, the schema class derives the possible
errors from what the view is built of (input, lookups, pagination, auth, throttles).
A status a view declares itself always wins.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

from shop.core.serializers import ErrorSerializer

_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

_DESCRIPTIONS = {
    "400": "Bad input: `invalid` with `fields`, or `parse_error`.",
    "401": "Missing, invalid or expired credentials: `not_authenticated`.",
    "403": "Not allowed: `permission_denied` (also a missing CSRF token with session auth).",
    "404": "Not found (or not yours): `not_found`.",
    "415": "The body is not JSON: `unsupported_media_type`.",
    "429": "Too many requests: `throttled`; see `Retry-After`.",
}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        error_ref = None
        for code in self._error_statuses(operation):
            if code in responses:
                continue
            if error_ref is None:
                error_ref = self.resolve_serializer(ErrorSerializer, "response").ref
            responses[code] = {
                "description": _DESCRIPTIONS[code],
                "content": {"application/json": {"schema": error_ref}},
            }
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation: dict[str, Any]) -> list[str]:
        view = self.view
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        authenticators = view.get_authenticators()
        permissions = view.get_permissions()
        requires_auth = any(not isinstance(p, AllowAny) for p in permissions)

        codes = []
        if has_body or any(p["in"] in ("query", "header") for p in parameters):
            codes.append("400")
        if authenticators:
            # A bad or expired token is refused even where anonymous callers are welcome.
            codes.append("401")
        if self.method in _UNSAFE and (
            requires_auth or any(isinstance(a, SessionAuthentication) for a in authenticators)
        ):
            codes.append("403")
        if any(p["in"] == "path" for p in parameters) or self._is_paginated():
            codes.append("404")
        if has_body and not getattr(view, "reads_raw_body", False):
            codes.append("415")  # a view that takes the bytes as sent never parses them
        if view.get_throttles():
            codes.append("429")
        return codes

    def _is_paginated(self) -> bool:
        return (
            self.method == "GET"
            and self._is_list_view()
            and getattr(self.view, "pagination_class", None) is not None
        )
