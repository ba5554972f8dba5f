"""Admin views that answer for every app's admin."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect


def admin_view_on_site(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    """The admin's "View on site" redirect (`/admin/r/<content type>/<id>/`), answered only
    for an object the user can see in its admin, and only where that admin offers a link.

    Django's own (contenttypes.views.shortcut) looks any object up unscoped and redirects
    to its page, so any staff user could learn which of another merchant's orders and
    products exist, and their numbers and slugs. Here the object comes from its model
    admin, which scopes it (404 for what the user may not see), and the address from that
    admin's view_on_site rule; everything else is a 404, like an object that is not there."""
    content_type = ContentType.objects.filter(pk=content_type_id).first()
    model = content_type.model_class() if content_type is not None else None
    if model is None:
        raise Http404
    try:
        model_admin = admin.site.get_model_admin(model)
    except NotRegistered as exc:
        raise Http404 from exc
    if not model_admin.has_view_or_change_permission(request):
        raise Http404
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None or not model_admin.has_view_or_change_permission(request, obj):
        raise Http404
    view_on_site = model_admin.view_on_site
    url: str | None = None
    if callable(view_on_site):
        url = view_on_site(obj)
    elif view_on_site and hasattr(obj, "get_absolute_url"):
        url = obj.get_absolute_url()
    if not url:
        raise Http404
    return HttpResponseRedirect(url)
