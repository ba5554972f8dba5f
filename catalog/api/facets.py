"""The `facets` of the `products/` page (API.md "Catalog"), as the schema describes them."""

from typing import Any

from catalog.facets import ATTRIBUTE_PREFIX, RATING_STEPS
from shop.core.api import PageNumberPagination


def _counted(properties: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "description": description,
        "items": {
            "type": "object",
            "properties": {**properties, "count": {"type": "integer", "minimum": 0}},
            "required": [*properties, "count"],
        },
    }


_DECIMAL = {"type": "string", "format": "decimal", "pattern": r"^\d+\.\d{2}$"}

FACETS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "How many products each filter value would show. A group's counts apply every "
        "active filter except its own (picking another merchant shows what the count says)."
    ),
    "properties": {
        "categories": _counted(
            {"slug": {"type": "string"}, "name": {"type": "string"}},
            ("Categories with products, depth-first; a count includes its sub-categories'."),
        ),
        "merchants": _counted(
            {"id": {"type": "integer"}, "name": {"type": "string"}},
            ("Merchants with products, most first."),
        ),
        "price": _counted(
            {"min": _DECIMAL, "max": {**_DECIMAL, "nullable": True}},
            (
                "Fixed price bands, both bounds inclusive as `min_price`/`max_price` take "
                "them; the last band has no `max`."
            ),
        ),
        "rating": _counted(
            {"min": {"type": "integer", "enum": list(RATING_STEPS)}},
            ("Products rated `min` stars and up on average (`min_rating`)."),
        ),
        "in_stock": {"type": "integer", "minimum": 0, "description": ("`in_stock=true`.")},
        "attributes": {
            "type": "object",
            "description": (
                f"Per attribute key (as `{ATTRIBUTE_PREFIX}<key>` takes it), its most common "
                "values."
            ),
            "additionalProperties": _counted({"value": {"type": "string"}}, ""),
        },
    },
    "required": ["categories", "merchants", "price", "rating", "in_stock", "attributes"],
}


class ProductPagination(PageNumberPagination):
    """The products page: API.md's pagination plus `facets`, which the view adds, and
    `did_you_mean` (set by the view for a `q` that found nothing)."""

    did_you_mean: str | None = None

    def get_paginated_response(self, data: Any) -> Any:
        response = super().get_paginated_response(data)
        response.data["did_you_mean"] = self.did_you_mean
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        page = super().get_paginated_response_schema(schema)
        page["properties"]["facets"] = FACETS_SCHEMA
        page["properties"]["did_you_mean"] = {
            "type": "string",
            "nullable": True,
            "description": "For a `q` that found nothing, the same words spelt as the "
            'catalog spells them ("headphones" for "hedphnoes"); null otherwise.',
            "example": None,
        }
        page["required"] = [*page.get("required", []), "facets"]
        return page
