"""A tiny URLconf for testing the anonymous page cache and the error envelope in isolation."""

from django.http import HttpResponse
from django.template import engines
from django.urls import path

from shop.core.pagecache import anonymous_cache

CALLS = {"count": 0}

_FORM = engines["django"].from_string(
    '{% load shop %}<form method="post">{% csrf_input %}</form>{{ n }}'
)


@anonymous_cache
def cached_view(request):
    CALLS["count"] += 1
    return HttpResponse(_FORM.render({"n": CALLS["count"]}, request))


def uncached_view(request):
    CALLS["count"] += 1
    return HttpResponse(str(CALLS["count"]))


def failing_view(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("cached/", cached_view),
    path("uncached/", uncached_view),
    # No handler500 here: Django's own HTML page, which the envelope middleware replaces.
    path("api/boom/", failing_view),
]
