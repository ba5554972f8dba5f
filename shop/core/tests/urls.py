"""A tiny URLconf for testing the anonymous page cache and the error envelope in isolation."""

from django.http import HttpResponse
from django.template import engines
from django.urls import path

from shop.core import pagecache
from shop.core.pagecache import anonymous_cache

CALLS = {"count": 0}
# What the next render of `depends_view` does in the middle (a write committing meanwhile).
DURING_RENDER: list = []

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


@anonymous_cache(
    query={
        "page": pagecache.whole_number(maximum=50),
        "sort": pagecache.choice("new", "old", blank=True),
        "q": pagecache.text(max_length=20),
        "min": pagecache.amount(blank=True),
    }
)
def list_view(request):
    """Pages 1 to 3 exist; a page past the end is shown as the last (and declined)."""
    CALLS["count"] += 1
    page = request.GET.get("page", "1")
    if page.isdigit() and int(page) > 3:
        pagecache.page_cache_decline(request)
    return HttpResponse(str(CALLS["count"]))


@anonymous_cache
def depends_view(request, name):
    """Shows the thing called `name`: its page depends on the version `thing:<name>`."""
    CALLS["count"] += 1
    pagecache.page_depends_on(request, f"thing:{name}")
    while DURING_RENDER:
        DURING_RENDER.pop()()
    return HttpResponse(str(CALLS["count"]))


def failing_view(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("cached/", cached_view),
    path("uncached/", uncached_view),
    path("list/", list_view),
    path("things/<str:name>/", depends_view),
    # No handler500 here: Django's own HTML page, which the envelope middleware replaces.
    path("api/boom/", failing_view),
]
