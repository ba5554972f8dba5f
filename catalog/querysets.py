from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import models
from django.db.models import F, Prefetch, Q


class ProductQuerySet(models.QuerySet):
    def active(self):
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
