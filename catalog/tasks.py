"""Catalog background work: product image thumbnails, made outside the admin's request."""

from __future__ import annotations

from celery import shared_task


# A storage error (OSError) is retried; an image that cannot be decoded is recorded by the
# service and never retried. Running twice is harmless: a second run finds the thumbnail.
@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def product_image_thumbnail_task(*, image_id: int) -> bool:
    from catalog.services import product_image_make_thumbnail

    return product_image_make_thumbnail(image_id=image_id)


@shared_task
def product_thumbnails_sweep_task() -> int:
    from catalog.services import product_thumbnails_sweep

    return product_thumbnails_sweep()


# Product saves add their words at once; this recounts frequencies and drops the words of
# products that are gone or inactive. Running twice is harmless: it rebuilds from scratch.
@shared_task
def search_words_rebuild_task() -> int:
    from catalog.search import search_words_rebuild

    return search_words_rebuild()
