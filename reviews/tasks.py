from celery import shared_task


@shared_task
def product_rating_recompute_task(*, product_id: int) -> int:
    """Recompute one product's figures (idempotent: it only reads reviews)."""
    from reviews.services import PENDING_MARK, product_rating_recompute
    from shop.core.marks import mark_delete

    # Cleared before reading, so a review committed from now on queues another run and
    # the last run always sees the last review: the final figures are exact.
    mark_delete(key=PENDING_MARK.format(product_id))
    return product_rating_recompute(product_ids=[product_id])


@shared_task
def product_ratings_recompute_all_task() -> int:
    """Nightly: recompute every product, repairing any drift."""
    from reviews.services import product_rating_recompute

    return product_rating_recompute()


@shared_task
def recommendations_compute_task() -> int:
    from reviews.recommendations import recommendations_compute

    return recommendations_compute()
