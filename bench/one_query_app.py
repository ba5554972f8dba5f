"""The second reference: a one-query Django page with a small template, served like the shop.

Where bench/minimal_app.py is what gunicorn + Django cost at all, this page adds what
the least a real page costs: one SQL query against the bench database (a product by id,
over a persistent connection as the shop keeps them, CONN_MAX_AGE) and a small template
rendered by Django's (cached) template loader. Cache-miss figures of the shop are read as
a ratio to it (issue 11: at least 0.25).

    gunicorn --pythonpath bench one_query_app:application     (DATABASE_URL set)

`/?id=<n>` shows product n (the row of the lowest id at or above n, so any number
answers 200).
"""

import os
from urllib.parse import urlsplit

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ name }} · Bazaar</title></head>
<body><main><h1>{{ name }}</h1><p><a href="/p/{{ slug }}/">{{ slug }}</a></p>
<p class="price">{{ currency }} {{ price }}</p></main></body></html>
"""


def product_view(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("id", "1")
    product_id = int(raw) if raw.isdigit() and len(raw) < 10 else 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, slug, price_amount, currency FROM catalog_product"
            " WHERE id >= %s ORDER BY id LIMIT 1",
            [product_id],
        )
        row = cursor.fetchone() or ("-", "-", "0.00", "USD")
    name, slug, price, currency = row
    context = {"name": name, "slug": slug, "price": price, "currency": currency}
    return render(request, "product.html", context)


urlpatterns = [path("", product_view)]

_db = urlsplit(os.environ["DATABASE_URL"])
settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-one-query-app-secret-key-not-for-production-0123456789",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
    ],
    # The middleware of a fresh startproject, as bench/minimal_app.py.
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _db.path.lstrip("/"),
            "USER": _db.username or "",
            "PASSWORD": _db.password or "",
            "HOST": _db.hostname or "",
            "PORT": str(_db.port or ""),
            "CONN_MAX_AGE": 60,
        }
    },
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.cached.Loader",
                        [("django.template.loaders.locmem.Loader", {"product.html": TEMPLATE})],
                    )
                ]
            },
        }
    ],
    USE_TZ=True,
)

application = get_wsgi_application()
