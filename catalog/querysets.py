from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import models
from django.db.models import F, Prefetch, Q

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
        """Full-text match (name over description) or a close trigram match on the name,
        so one typo still finds the product; annotated with `relevance`."""
        from catalog.models import SEARCH_CONFIG

        query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
        return self.annotate(
            relevance=SearchRank(F("search_vector"), query) + TrigramWordSimilarity(text, "name")
        ).filter(Q(search_vector=query) | Q(name__trigram_word_similar=text))


class VariantQuerySet(models.QuerySet):
    def buyable(self):
        """Variants a shopper may buy: see `variant_is_buyable`."""
        return self.filter(
            is_active=True, product__is_active=True, product__merchant__is_active=True
        )
