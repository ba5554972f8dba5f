from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backoffice.views import admin_view_on_site
from shop.core.views import media_serve
from storefront import urls as storefront

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("cart.api.urls")),
    path("", include("shipping.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("fulfilment.api.urls")),
    path("", include("reviews.api.urls")),
]

urlpatterns = [
    # Before the admin's own: its "View on site" redirect, scoped (backoffice.views).
    path(
        "admin/r/<id:content_type_id>/<path:object_id>/",
        admin.site.admin_view(admin_view_on_site),
        name="admin-view-on-site",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from our static files, its start-up script a second request (?script):
    # nothing inline and nothing from a CDN, so it works offline and under the CSP.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/docs.html"),
        name="swagger-ui",
    ),
    # Before accounts/: the order history lives at /accounts/orders/.
    path("", storefront.order_urls),
    path("cart/", storefront.cart_urls),
    path("payments/", include("payments.urls")),
    path("shipping/", include("fulfilment.urls")),
    path("", storefront.review_urls),
    path("accounts/", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", storefront.catalog_urls),
]

if settings.SERVE_MEDIA:
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns += [re_path(rf"^{media_prefix}(?P<path>.*)$", media_serve)]

handler400 = "shop.core.views.bad_request"
handler403 = "shop.core.views.permission_denied"
handler404 = "shop.core.views.not_found"
handler500 = "shop.core.views.server_error"
