from django.contrib.postgres.search import SearchRank
from django.db import models
from django.db.models import F, FloatField, Prefetch, Value

# "Buyable" has one definition: a variant a shopper may put in a cart and order is active,
# and so are its product and the product's merchant (a suspended merchant sells nothing).
# Written three ways for three kinds of caller, kept together here and pinned to agree by
# catalog/tests/test_buyable.py: the queryset filter (`VariantQuerySet.buyable`), the test
# of loaded flags (`variant_is_buyable`, used by `catalog.stock.LockedVariant` and the
# cart), and `ProductQuerySet.active` for what the catalog lists.


def variant_is_buyable(
    *, variant_active: bool, product_active: bool, merchant_active: bool
) -> bool:
    return variant_active and product_active and merchant_active


class ProductQuerySet(models.QuerySet):
    def active(self):
        """Products the catalog shows and sells: active, of an active merchant."""
        return self.filter(is_active=True, merchant__is_active=True)

    def for_staff(self, user):
        """What a merchant's staff user may manage; superusers see every product."""
        if user.is_superuser:
            return self
        return self.filter(merchant__staff=user)

    def with_card_data(self):
        """Everything a product card (list page, API list) shows, in two queries."""
        from catalog.models import ProductImage

        return self.select_related("merchant").prefetch_related(
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))
        )

    def search(self, text: str):
        """Products matching the words of `text` (typos forgiven, see catalog.search),
        annotated with `relevance`. Every match: a list bounds it once its other filters
        are applied (`search_bounded`)."""
        from catalog.search import search_query

        query = search_query(text)
        if query is None:  # no word at all (punctuation): nothing, still sortable
            return self.annotate(relevance=Value(0.0, output_field=FloatField())).none()
        return self.filter(search_vector=query).annotate(
            relevance=SearchRank(F("search_vector"), query)
        )

    def search_bounded(self):
        """At most SEARCH_CANDIDATES of these products, the first the full-text index finds
        (with every other filter of the list already applied, so a search within a category
        lists that category's matches): a common word matches thousands, and ranking (or
        counting) every one of them costs a heap fetch each, which is what made a search take
        100+ ms at 100,000 products. The page, its count and its facets read bounded sets."""
        from catalog.search import SEARCH_CANDIDATES

        candidates = self.order_by().values("pk")[:SEARCH_CANDIDATES]  # index order: no sort
        return self.filter(pk__in=candidates)


class VariantQuerySet(models.QuerySet):
    def buyable(self):
        """Variants a shopper may buy: see `variant_is_buyable`."""
        return self.filter(
            is_active=True, product__is_active=True, product__merchant__is_active=True
        )
