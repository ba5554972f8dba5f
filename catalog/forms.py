"""How the product filters of `catalog.filters.ProductFilter` look in the storefront sidebar."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.facets import ATTRIBUTE_PREFIX
from catalog.selectors import CategoryTree, category_options

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Non-breaking spaces indent sub-categories inside a <select>, which ignores CSS padding.
_INDENT = "\u00a0\u00a0\u00a0"


def _choice_pairs(field: forms.ChoiceField) -> Iterable[tuple[str, StrOrPromise]]:
    # Django normalises choices when they are set; the stubs type what the property returns
    # like what it takes (mappings, callables).
    return cast("Iterable[tuple[str, StrOrPromise]]", field.choices)


def product_filter_form_prepare(
    form: forms.Form, *, tree: CategoryTree, searching: bool, with_category: bool
) -> forms.Form:
    """Tune the bound filter form for the HTML sidebar, before it is validated.

    The API takes a category slug as free text; people pick from the tree. "Relevance"
    only means something with a search, so without one "Newest" comes first and is the
    default the browser shows."""
    fields = form.fields
    if with_category:
        choices = [("", _("All categories"))] + [
            (slug, f"{_INDENT * depth}{name}") for slug, name, depth in category_options(tree)
        ]
        fields["category"].widget = forms.Select(choices=choices)
    else:
        del fields["category"]

    # ProductFilter declares both as choice filters, whose form fields are these.
    ordering = cast(forms.ChoiceField, fields["ordering"])
    merchant = cast(forms.ModelChoiceField, fields["merchant"])
    requested = form.data.get("ordering")
    if not searching:
        ordering.choices = [
            choice
            for choice in _choice_pairs(ordering)
            if choice[0] != "relevance" or requested == choice[0]
        ]
        ordering.choices = sorted(
            _choice_pairs(ordering), key=lambda choice: choice[0] != "-created"
        )

    # The rating and attribute filters come from the facet links; the form keeps them when
    # it is sent again (attributes as hidden fields: their values are picked from the links).
    rating = cast(forms.ChoiceField, fields["min_rating"])
    rating.choices = [("", _("Any rating"))] + [
        (value, _("%(stars)s stars and up") % {"stars": value})
        for value, _label in _choice_pairs(rating)
    ]
    for name, field in fields.items():
        if name.startswith(ATTRIBUTE_PREFIX):
            field.widget = forms.HiddenInput()

    fields["q"].widget = forms.TextInput(attrs={"type": "search", "autocomplete": "off"})
    merchant.empty_label = _("All merchants")
    for name in ("min_price", "max_price"):
        fields[name].widget.attrs.update({"min": "0", "step": "0.01", "inputmode": "decimal"})
    # API-facing help texts would be read out by screen readers; the labels say enough.
    for field in fields.values():
        field.help_text = ""
    return form


def form_describe_errors(form: forms.Form) -> None:
    """Point each invalid field at its error message, so screen readers announce it."""
    for name in form.errors:
        if name in form.fields:
            form.fields[name].widget.attrs["aria-describedby"] = f"id_{name}_errors"
