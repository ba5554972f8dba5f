"""A tiny URLconf for the security headers: pages with an inline script, cached or not."""

from django.http import HttpResponse
from django.template import engines
from django.urls import path

from shop.core.pagecache import anonymous_cache

_PAGE = engines["django"].from_string(
    '{% load shop %}<!doctype html><p>{{ text }}</p><script nonce="{% csp_nonce %}">1</script>'
)


def _render(request, text=""):
    return HttpResponse(_PAGE.render({"text": text}, request))


@anonymous_cache
def cached_view(request):
    return _render(request)


def uncached_view(request):
    return _render(request, text=request.GET.get("text", ""))


urlpatterns = [path("cached/", cached_view), path("uncached/", uncached_view)]
