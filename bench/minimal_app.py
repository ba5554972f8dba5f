"""The ceiling: the smallest Django app, served by gunicorn exactly as the shop is.

One URL answering "ok" behind the middleware of a fresh `django-admin startproject`,
with DEBUG off and no database access. Whatever one request costs here (the WSGI
server, Django's request cycle, the middleware, the load generator sharing the CPU) is
the least any page of the shop can cost on this machine, so the shop's figures are
read as a ratio to this one.

    gunicorn --pythonpath bench minimal_app:application
"""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path


def ok_view(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("", ok_view)]

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-minimal-app-secret-key-not-for-production-0123456789",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
    ],
    # The middleware of a fresh startproject.
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    DATABASES={},
    USE_TZ=True,
)

application = get_wsgi_application()
