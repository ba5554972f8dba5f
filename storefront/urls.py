"""The shop's pages. Each group keeps the URL namespace its names have always had
(`catalog:product`, `cart:detail`, `orders:detail`, `reviews:create`): templates, models'
`get_absolute_url` and emails name pages that way, whichever layer renders them."""

from django.urls import include, path

from storefront.views import cart, catalog, fulfilment, orders, reviews

catalog_patterns = [
    path("", catalog.home_view, name="home"),
    path("products/", catalog.product_list_view, name="product_list"),
    path("c/<slug:slug>/", catalog.category_view, name="category"),
    path("p/<slug:slug>/", catalog.product_detail_view, name="product"),
    path("search/", catalog.search_view, name="search"),
]

review_patterns = [
    path("p/<slug:slug>/reviews/", reviews.review_create_view, name="create"),
]

cart_patterns = [
    path("", cart.cart_detail_view, name="detail"),
    path("add/", cart.cart_add_view, name="add"),
    path("lines/<id:line_id>/update/", cart.cart_update_view, name="update"),
    path("lines/<id:line_id>/remove/", cart.cart_remove_view, name="remove"),
]

order_patterns = [
    path("checkout/", orders.checkout_view, name="checkout"),
    path("checkout/shipping/", orders.checkout_shipping_view, name="checkout_shipping"),
    path("orders/<order_number:number>/", orders.order_detail_view, name="detail"),
    path("orders/<order_number:number>/cancel/", orders.order_cancel_view, name="cancel"),
    path("orders/<order_number:number>/pay/", orders.order_pay_view, name="pay"),
    path(
        "orders/<order_number:number>/returns/",
        fulfilment.order_return_request_view,
        name="return_request",
    ),
    path(
        "orders/<order_number:number>/returns/<id:return_id>/cancel/",
        fulfilment.order_return_cancel_view,
        name="return_cancel",
    ),
    path("accounts/orders/", orders.order_history_view, name="history"),
]

# Mounted at the site root by shop/urls.py, after the API, admin and accounts patterns.
cart_urls = include((cart_patterns, "cart"))
order_urls = include((order_patterns, "orders"))
review_urls = include((review_patterns, "reviews"))
catalog_urls = include((catalog_patterns, "catalog"))
