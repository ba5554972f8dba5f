"""Log a bench shopper in and print the session cookie a browser would send, as JSON.

Run by the catalog suite in a subprocess with the bench environment, so the session is
stored where the served shop reads it (PostgreSQL and the sessions' Redis):

    python bench/session_login.py      ->  {"cookie": "sessionid=..."}

The shopper (bench-shopper@example.com) is created when missing, with one cart line, so
the header's cart count has something to count, as for a real shopper.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

EMAIL = "bench-shopper@example.com"


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    django.setup()

    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from cart.services import cart_add_item
    from catalog.models import Variant

    user = User.objects.filter(email=EMAIL).first()
    if user is None:
        user = User.objects.create_user(email=EMAIL, password=None)
        buyable = Variant.objects.filter(stock__gt=10, product__is_active=True)
        variant = buyable.order_by("id").first()
        if variant is not None:
            cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    print(json.dumps({"cookie": f"{name}={client.cookies[name].value}"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
