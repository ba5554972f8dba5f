"""The facet sidebar of the product list, category and search pages: catalog.facets'
counts as links, each adding its filter to (or, when active, removing it from) the filters
the page already has, so filters combine without JavaScript."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.facets import ATTRIBUTE_PREFIX, Facets, FacetSelection
from catalog.filters import PRODUCT_LIST_QUERY
from catalog.selectors import CategoryNode, CategoryTree


@dataclass
class FacetLink:
    label: str
    count: int
    url: str
    active: bool = False
    depth: int = 0


@dataclass
class FacetGroup:
    name: str  # for ids and tests
    title: str
    links: list[FacetLink] = field(default_factory=list)


def _kept(query: Mapping[str, str], invalid: Iterable[str]) -> dict[str, str]:
    """The filters a link keeps: the page's own, valid and non-empty, never its page number
    (a new filter starts at page 1)."""
    skipped = {"page", *invalid}
    return {
        name: value
        for name, value in query.items()
        if value
        and name not in skipped
        and (name in PRODUCT_LIST_QUERY or name.startswith(ATTRIBUTE_PREFIX))
    }


class _Links:
    def __init__(self, action: str, kept: dict[str, str]) -> None:
        self.action = action
        self.kept = kept

    def url(self, action: str | None = None, **changes: str | None) -> str:
        params = dict(self.kept)
        for name, value in changes.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        query = urlencode(sorted(params.items()))
        return f"{action or self.action}?{query}" if query else action or self.action


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _categories(
    facets: Facets,
    links: _Links,
    selection: FacetSelection,
    *,
    page_category: CategoryNode | None,
    tree: CategoryTree,
) -> FacetGroup:
    group = FacetGroup("category", _("Category"))
    counts = {c.id: c.count for c in facets.categories}
    if page_category is not None:
        # A category page: its sub-categories are pages of their own.
        for child in page_category.children:
            if counts.get(child.id):
                group.links.append(
                    FacetLink(
                        child.name,
                        counts[child.id],
                        links.url(child.get_absolute_url(), category=None),
                    )
                )
        return group
    chosen = tree.by_slug.get(selection.category or "")
    if chosen is not None:
        group.links.append(
            FacetLink(chosen.name, counts.get(chosen.id, 0), links.url(category=None), True)
        )
    for node in chosen.children if chosen is not None else tree.roots:
        if counts.get(node.id):
            depth = 1 if chosen is not None else 0
            group.links.append(
                FacetLink(node.name, counts[node.id], links.url(category=node.slug), depth=depth)
            )
    return group


def _merchants(facets: Facets, links: _Links, selection: FacetSelection) -> FacetGroup:
    group = FacetGroup("merchant", _("Merchant"))
    for merchant in facets.merchants:
        active = merchant.id == selection.merchant
        url = links.url(merchant=None if active else str(merchant.id))
        group.links.append(FacetLink(merchant.name, merchant.count, url, active))
    return group


def _prices(facets: Facets, links: _Links, selection: FacetSelection) -> FacetGroup:
    group = FacetGroup("price", _("Price"))
    for band in facets.price:
        active = selection.min_price == (band.min or None) and selection.max_price == band.max
        if not (band.count or active):
            continue
        if band.max is None:
            label = _("%(min)s and up") % {"min": _amount(band.min)}
        elif not band.min:
            label = _("Up to %(max)s") % {"max": _amount(band.max)}
        else:
            label = _("%(min)s to %(max)s") % {"min": _amount(band.min), "max": _amount(band.max)}
        if active:
            url = links.url(min_price=None, max_price=None)
        else:
            url = links.url(
                min_price=_amount(band.min) if band.min else None,
                max_price=_amount(band.max) if band.max is not None else None,
            )
        group.links.append(FacetLink(label, band.count, url, active))
    return group


def _ratings(facets: Facets, links: _Links, selection: FacetSelection) -> FacetGroup:
    group = FacetGroup("rating", _("Rating"))
    for rating in facets.rating:
        active = rating.min == selection.min_rating
        if not (rating.count or active):
            continue
        label = ngettext("%(stars)d star and up", "%(stars)d stars and up", rating.min) % {
            "stars": rating.min
        }
        url = links.url(min_rating=None if active else str(rating.min))
        group.links.append(FacetLink(label, rating.count, url, active))
    return group


def _availability(facets: Facets, links: _Links, selection: FacetSelection) -> FacetGroup:
    group = FacetGroup("in_stock", _("Availability"))
    if facets.in_stock or selection.in_stock:
        url = links.url(in_stock=None if selection.in_stock else "on")
        group.links.append(
            FacetLink(_("In stock only"), facets.in_stock, url, active=selection.in_stock)
        )
    return group


def _attributes(facets: Facets, links: _Links, selection: FacetSelection) -> list[FacetGroup]:
    chosen = dict(selection.attributes)
    groups = []
    for attribute in facets.attributes:
        param = f"{ATTRIBUTE_PREFIX}{attribute.key}"
        group = FacetGroup(param, attribute.name)
        for value in attribute.values:
            active = chosen.get(attribute.key) == value.value
            url = links.url(**{param: None if active else value.value})
            group.links.append(FacetLink(value.value, value.count, url, active))
        groups.append(group)
    return groups


def facet_sidebar(
    facets: Facets,
    *,
    selection: FacetSelection,
    query: Mapping[str, str],
    invalid: Iterable[str],
    action: str,
    tree: CategoryTree,
    page_category: CategoryNode | None = None,
) -> list[FacetGroup]:
    """The sidebar's groups of links, leaving out groups with nothing to pick."""
    links = _Links(action, _kept(query, invalid))
    groups = [
        _categories(facets, links, selection, page_category=page_category, tree=tree),
        _merchants(facets, links, selection),
        _prices(facets, links, selection),
        _ratings(facets, links, selection),
        _availability(facets, links, selection),
        *_attributes(facets, links, selection),
    ]
    return [group for group in groups if group.links]
