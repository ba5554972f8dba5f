"""Count the catalog's words for search again (catalog.search): after a bulk import that
sent no signals, or to drop the words of products that are gone."""

from typing import Any

from django.core.management.base import BaseCommand

from catalog.search import search_words_rebuild


class Command(BaseCommand):
    help = "Rebuild the words search corrects typos against, from the active products' names."

    def handle(self, *args: Any, **options: Any) -> None:
        count = search_words_rebuild()
        self.stdout.write(f"{count} words.")
