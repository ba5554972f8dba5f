"""The write stream of the `pagecache` suite: sales and reviews at a steady rate.

Run by bench/pagecache_suite.py as `python bench/pagecache_writer.py '<json payload>'` in
the environment of the shop under test, with the checkout under test (`payload["code"]`)
put first on sys.path before Django is imported, so the "before" run writes with the old
code and the "after" run with the new. Everything goes through the shop's own services,
as a shopper's actions would:

- a sale: `cart_add_item` then `order_place` of the last unit of a hot variant (its stock
  crosses zero, and so does its product's), then `order_cancel` `hold` seconds later (back
  across zero): what issue 9 item 13 describes any shopper can do;
- a review: `review_create` by a buyer of the product (the worker then recomputes the
  product's figures, coalesced).

Prints `READY` once Django is set up, then, at the end, one JSON line with what it did.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter, deque


def main(payload: dict) -> dict:
    sys.path.insert(0, payload["code"])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()
    from accounts.models import User
    from cart.services import cart_add_item
    from catalog.models import Product
    from orders.services import ShippingAddress, order_place
    from payments.services.cancel import order_cancel
    from reviews.services import review_create

    address = ShippingAddress(**payload["address"])
    seller = User.objects.get(pk=payload["buyer_id"])
    reviewers = list(User.objects.filter(pk__in=payload["reviewer_ids"]).order_by("pk"))
    products = Product.objects.in_bulk(payload["review_product_ids"])
    review_products = [products[pk] for pk in payload["review_product_ids"]]
    pairs = ((user, product) for user in reviewers for product in review_products)
    free = deque(payload["hot_variant_ids"])
    held: deque[tuple[float, int, int]] = deque()  # (cancel at, order id, variant id)
    done: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    sale_every = 1 / payload["sales_rate"] if payload["sales_rate"] > 0 else None
    review_every = 1 / payload["reviews_rate"] if payload["reviews_rate"] > 0 else None

    def attempt(kind: str, action) -> object:
        try:
            result = action()
        except Exception as error:  # every failure is a finding: counted and reported
            errors[f"{kind}: {type(error).__name__}: {error}"[:200]] += 1
            return None
        done[kind] += 1
        return result

    print("READY", flush=True)
    start = time.monotonic()
    end = start + payload["seconds"]
    next_sale = start if sale_every else float("inf")
    # Half a period apart, so sales and reviews do not land in the same instant.
    next_review = start + (review_every / 2 if review_every else float("inf"))
    rating = 0
    while (now := time.monotonic()) < end:
        while held and held[0][0] <= now:
            _, order_id, variant_id = held.popleft()
            attempt("cancelled", lambda order_id=order_id: order_cancel(order_id=order_id))
            free.append(variant_id)
        if now >= next_sale:
            next_sale += sale_every or 0
            if free:
                variant_id = free.popleft()

                def sell(variant_id: int = variant_id) -> int:
                    cart_add_item(user=seller, variant_id=variant_id, quantity=1)
                    order = order_place(
                        user=seller, shipping_method_id=payload["shipping_method_id"],
                        address=address,
                    )  # fmt: skip
                    return order.pk

                order_id = attempt("placed", sell)
                if order_id is None:
                    free.append(variant_id)
                else:
                    held.append((now + payload["hold"], order_id, variant_id))
            else:
                done["skipped (no free hot variant)"] += 1
        if now >= next_review:
            next_review += review_every or 0
            pair = next(pairs, None)
            if pair is None:
                done["skipped (no reviewer left)"] += 1
            else:
                user, product = pair
                rating += 1
                attempt(
                    "reviewed",
                    lambda user=user, product=product, stars=1 + rating % 5: review_create(
                        user=user, product=product, rating=stars, title="Bench review"
                    ),
                )
        due = min(next_sale, next_review, end, held[0][0] if held else end)
        time.sleep(max(0.0, due - time.monotonic()))
    while held:  # every unit back on the shelf: the next run starts from the same stock
        _, order_id, variant_id = held.popleft()
        attempt("cancelled", lambda order_id=order_id: order_cancel(order_id=order_id))
    elapsed = time.monotonic() - start
    return {"seconds": elapsed, "done": dict(done), "errors": dict(errors)}


if __name__ == "__main__":
    result = main(json.loads(sys.argv[1]))
    print(json.dumps(result), flush=True)
