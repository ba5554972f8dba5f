"""A prefetch folded into its parent's query: the child rows as one JSON array column
(ArraySubquery of JSONObject), put back where `prefetch_related` would have put them, so a
page reads a parent and its children in one query whatever their number. Decimals travel
as text (a JSON number would come back as a float)."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import models
from django.db.models import QuerySet
from django.db.models.functions import Cast, JSONObject


def children_json(queryset: QuerySet[Any]) -> ArraySubquery:
    """The rows of `queryset` (filtered on OuterRef, ordered) as one JSON array column."""
    fields: dict[str, Any] = {}
    for field in queryset.model._meta.concrete_fields:
        exact = isinstance(field, models.DecimalField)
        fields[field.attname] = Cast(field.attname, models.TextField()) if exact else field.attname
    return ArraySubquery(queryset.values(json=JSONObject(**fields)))


def children_set(parent: Any, name: str, model: type[Any], rows: list[dict] | None) -> None:
    """Put rows read by `children_json` where `prefetch_related(name)` would have put
    them, as model instances with their values converted, so `parent.<name>.all()` reads
    them without a query."""
    fields = {field.attname: field for field in model._meta.concrete_fields}
    instances = [
        model(**{key: fields[key].to_python(value) for key, value in row.items()})
        for row in rows or []
    ]
    for instance in instances:
        instance._state.adding = False
        instance._state.db = "default"
    queryset = getattr(parent, name).all()
    queryset._result_cache = instances
    queryset._prefetch_done = True
    cache = parent.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[name] = queryset
