"""What a merchant's staff can learn through the admin about another merchant: nothing.

Staff of merchant A probe every admin they can reach the way an outside audit did:
changelist filters on hidden columns (`?total_amount__gt=`, to bisect B's totals),
relations, sorting, search, date drill-down, the autocomplete endpoint, preserved filters,
history pages, the event trail and the "View on site" redirect. Also: a read-only page
never takes a save, and every "View on site" link leads to a page that exists."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory
from django.urls import resolve, reverse

from accounts.tests.factories import UserFactory
from catalog.models import Category, Merchant, Product, Variant
from catalog.services import MERCHANTS_GROUP
from catalog.tests.factories import MerchantFactory, ProductFactory, VariantFactory
from orders.models import Order, OrderEvent
from orders.tests.factories import place_order
from reviews.models import Review
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db
ORDERS = reverse("admin:orders_order_changelist")

# Columns of an order that merchant staff are not shown (totals span every merchant of the
# order), relations to other merchants' lines, and columns no filter offers.
HIDDEN_ORDER_LOOKUPS = [
    "total_amount__gt",
    "total_amount__lt",
    "total_amount",
    "subtotal_amount__gte",
    "shipping_amount__lte",
    "currency",
    "user",
    "user__exact",
    "user__id__exact",
    "shipping_method__exact",
    "lines__unit_price_amount__gt",
    "lines__merchant__exact",
    "lines__sku",
    "events__actor__email",
    "confirmation_sent_at__isnull",
]


def _merchant_staff(merchant, client=None):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=MERCHANTS_GROUP))
    merchant.staff.add(user)
    if client is not None:
        client.force_login(user)
    return user


@pytest.fixture
def merchant_a():
    return MerchantFactory(name="Alpha Goods")


@pytest.fixture
def merchant_b():
    return MerchantFactory(name="Beta Supply")


@pytest.fixture
def orders(merchant_a, merchant_b):
    lamp = VariantFactory(product=ProductFactory(merchant=merchant_a, variants=0), sku="A-LAMP")
    kettle = VariantFactory(
        product=ProductFactory(merchant=merchant_b, variants=0, name="Beta kettle"),
        sku="B-KETTLE",
        price_amount=Decimal("123.45"),
    )
    mixed = place_order(user=UserFactory(email="mixed@example.com"), items=[(lamp, 1), (kettle, 1)])
    only_b = place_order(user=UserFactory(email="onlyb@example.com"), items=[(kettle, 2)])
    return {"mixed": mixed, "only_b": only_b}


@pytest.fixture
def staff_a(client, merchant_a):
    return _merchant_staff(merchant_a, client)


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


def _listed(response) -> list:
    return list(response.context["cl"].result_list)


# --- changelist filters ----------------------------------------------------------------------


def test_merchant_staff_cannot_bisect_an_orders_total(client, staff_a, orders):
    total = orders["mixed"].total_amount
    for value in (total - Decimal("0.01"), total):
        response = client.get(ORDERS, {"total_amount__gt": str(value)})
        assert response.status_code == 400
        assert str(total) not in response.content.decode()


@pytest.mark.parametrize("lookup", HIDDEN_ORDER_LOOKUPS)
def test_merchant_staff_filter_orders_only_by_what_they_are_shown(client, staff_a, orders, lookup):
    value = {"currency": "USD", "lines__sku": "B-KETTLE"}.get(lookup, "1")
    response = client.get(ORDERS, {lookup: value})
    assert response.status_code == 400


def test_the_offered_filters_and_date_drill_down_still_work(client, staff_a, orders):
    mixed = orders["mixed"]
    created = mixed.created_at
    for params in (
        {"status__exact": mixed.status},
        {"payment_status__exact": mixed.payment_status},
        {"fulfilment_status__exact": mixed.fulfilment_status},
        {"created_at__year": created.year, "created_at__month": created.month},
        {"q": "mixed@", "o": "1"},
    ):
        response = client.get(ORDERS, params)
        assert response.status_code == 200, params
        assert _listed(response) == [mixed], params


def test_platform_staff_keep_every_filter(client, superuser, orders):
    client.force_login(superuser)
    response = client.get(ORDERS, {"total_amount__gt": "0"})
    assert response.status_code == 200
    assert set(_listed(response)) == set(orders.values())


@pytest.mark.parametrize(
    ("changelist", "lookup"),
    [
        ("admin:catalog_product_changelist", "merchant__exact"),
        ("admin:catalog_product_changelist", "price_amount__gt"),
        ("admin:catalog_variant_changelist", "product__merchant__exact"),
        ("admin:catalog_merchant_changelist", "staff__exact"),
        ("admin:reviews_review_changelist", "author__exact"),
        ("admin:reviews_review_changelist", "product__merchant__exact"),
    ],
)
def test_every_scoped_changelist_refuses_lookups_it_does_not_offer(
    client, staff_a, merchant_b, changelist, lookup
):
    assert client.get(reverse(changelist)).status_code == 200
    assert client.get(reverse(changelist), {lookup: merchant_b.pk}).status_code == 400


def test_preserved_filters_lead_to_no_hidden_lookup(client, staff_a, orders):
    change = reverse("admin:orders_order_change", args=[orders["mixed"].pk])
    response = client.get(change, {"_changelist_filters": "total_amount__gt=100"})
    assert response.status_code == 200
    # The page's way back to the list carries the filters; the list refuses them.
    assert client.get(f"{ORDERS}?total_amount__gt=100").status_code == 400


# --- sorting, search, autocomplete -------------------------------------------------------------


def test_merchant_staff_cannot_sort_orders_by_hidden_columns(client, staff_a, orders, superuser):
    columns = len(admin.site.get_model_admin(Order).list_display)
    for index in range(columns + 2):
        for sign in ("", "-"):
            response = client.get(ORDERS, {"o": f"{sign}{index}"})
            assert response.status_code == 200
            ordering = " ".join(response.context["cl"].queryset.query.order_by)
            assert "amount" not in ordering, (index, ordering)
    # The same column index sorts by total for platform staff (so the probe is real).
    client.force_login(superuser)
    columns = client.get(ORDERS).context["cl"].list_display  # the checkbox is column 0
    ordering = (
        client.get(ORDERS, {"o": str(columns.index("total"))}).context["cl"].queryset.query.order_by
    )
    assert "total_amount" in " ".join(ordering)


@pytest.mark.parametrize(
    "term", ["B-KETTLE", "Beta", "onlyb@", "123.45", "246.90"], ids=lambda term: term
)
def test_merchant_staff_search_finds_nothing_of_another_merchant(client, staff_a, orders, term):
    term = {"onlyb@": orders["only_b"].number}.get(term, term)
    assert _listed(client.get(ORDERS, {"q": term})) == []
    assert _listed(client.get(ORDERS, {"q": "mixed@"})) == [orders["mixed"]]


def test_autocomplete_answers_only_from_the_merchants_rows(client, staff_a, orders, merchant_a):
    url = reverse("admin:autocomplete")
    found = client.get(
        url, {"app_label": "orders", "model_name": "orderline", "field_name": "order"}
    )
    assert [row["id"] for row in found.json()["results"]] == [str(orders["mixed"].pk)]

    products = client.get(
        url, {"app_label": "reviews", "model_name": "review", "field_name": "product"}
    ).json()["results"]
    ours = {
        str(pk) for pk in Product.objects.filter(merchant=merchant_a).values_list("pk", flat=True)
    }
    assert {row["id"] for row in products} == ours

    for model_name, field_name in (("review", "author"), ("order", "user")):
        app_label = "reviews" if model_name == "review" else "orders"
        response = client.get(
            url, {"app_label": app_label, "model_name": model_name, "field_name": field_name}
        )
        assert response.status_code == 403


# --- history and the event trail --------------------------------------------------------------


def test_history_shows_no_other_merchants_entries(client, staff_a, merchant_b, orders):
    mixed = orders["mixed"]
    staff_b = _merchant_staff(merchant_b)
    for user, message in ((staff_b, "Beta staff packed the kettle"), (staff_a, "Alpha note")):
        LogEntry.objects.log_actions(
            user_id=user.pk, queryset=[mixed], action_flag=CHANGE, change_message=message
        )
    html = client.get(reverse("admin:orders_order_history", args=[mixed.pk])).content.decode()
    assert "Alpha note" in html
    assert "Beta staff" not in html and staff_b.email not in html


def test_the_event_trail_names_no_other_merchants_staff(client, staff_a, merchant_b, orders):
    # The trail is the platform's record: merchant staff are not shown it (the Merchants
    # group has no view_orderevent), so another merchant's staff are never named to them.
    mixed = orders["mixed"]
    staff_b = _merchant_staff(merchant_b)
    OrderEvent.objects.create(order=mixed, kind=OrderEvent.Kind.NOTE, actor=staff_b, note="n")
    change = reverse("admin:orders_order_change", args=[mixed.pk])

    assert staff_b.email not in client.get(change).content.decode()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert staff_b.email in client.get(change).content.decode()


# --- "View on site" ------------------------------------------------------------------------


def _shortcut(obj) -> str:
    content_type = ContentType.objects.get_for_model(obj)
    return reverse("admin:view_on_site", args=[content_type.pk, obj.pk])


def test_view_on_site_never_reveals_another_merchants_objects(client, staff_a, orders, merchant_b):
    theirs = ProductFactory(merchant=merchant_b, is_active=False, slug="secret-launch")
    for obj in (orders["only_b"], orders["mixed"], theirs):
        response = client.get(_shortcut(obj))
        assert response.status_code == 404
        assert "secret-launch" not in response.get("Location", "")
        assert orders["only_b"].number not in response.get("Location", "")


def _view_on_site_link(client, obj) -> str | None:
    opts = obj._meta
    page = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    marker = 'class="viewsitelink"'
    if marker not in html:
        return None
    start = html.rfind("<a ", 0, html.index(marker))
    href = html[start:].split('href="', 1)[1].split('"', 1)[0]
    return href


def test_every_view_on_site_link_leads_to_a_page(client, superuser, orders):
    product = ProductFactory()
    hidden_product = ProductFactory(is_active=False)
    suspended = ProductFactory(merchant=MerchantFactory(is_active=False))
    published = ReviewFactory(product=product)
    hidden_review = ReviewFactory(product=product, status=Review.Status.HIDDEN)
    client.force_login(superuser)

    expected = {
        orders["mixed"]: False,  # the shopper's page: staff get a 404 there
        product: True,
        hidden_product: False,
        suspended: False,
        product.category: True,
        published: True,
        hidden_review: False,
        product.merchant: False,
        product.variants.first(): False,
    }
    for obj, has_link in expected.items():
        link = _view_on_site_link(client, obj)
        assert (link is not None) == has_link, obj
        if link:
            assert client.get(link, follow=True).status_code == 200, (obj, link)
    assert client.get(_shortcut(orders["mixed"])).status_code == 404
    assert client.get(_shortcut(hidden_product)).status_code == 404


def test_merchant_staff_view_their_own_product_on_site(client, staff_a, merchant_a):
    product = ProductFactory(merchant=merchant_a)
    response = client.get(_shortcut(product))
    assert response.status_code == 302 and response["Location"] == product.get_absolute_url()
    assert client.get(response["Location"]).status_code == 200


# --- read-only pages take no save --------------------------------------------------------------


def test_saving_a_read_only_order_changes_and_logs_nothing(client, superuser, orders):
    mixed = orders["mixed"]
    change = reverse("admin:orders_order_change", args=[mixed.pk])
    client.force_login(superuser)
    assert 'name="_save"' not in client.get(change).content.decode()

    response = client.post(change, {"status": "paid", "_save": "Save"}, follow=True)
    assert response.status_code == 403
    assert "changed successfully" not in response.content.decode()
    assert not LogEntry.objects.filter(object_id=str(mixed.pk)).exists()
    mixed.refresh_from_db()
    assert mixed.status == Order.Status.PENDING_PAYMENT


def test_every_admin_page_with_nothing_to_edit_refuses_a_save(rf: RequestFactory, superuser):
    request = rf.get("/admin/")
    request.user = superuser
    request.resolver_match = resolve(reverse("admin:index"))
    for model, model_admin in admin.site._registry.items():
        obj = model()
        readonly = set(model_admin.get_readonly_fields(request, obj))
        editable = set(flatten_fieldsets(model_admin.get_fieldsets(request, obj))) - readonly
        inlines_edit = any(
            inline.has_change_permission(request, obj) or inline.has_add_permission(request, obj)
            for inline in model_admin.get_inline_instances(request, obj)
        )
        if not editable and not inlines_edit:
            # A save is a POST (simplejwt's token admins let GET show the change page).
            save = rf.post("/admin/")
            save.user, save.resolver_match = superuser, request.resolver_match
            assert not model_admin.has_change_permission(save, obj), model.__name__


def test_the_known_models_are_covered():
    # The walk above covers every registered admin; these are the ones merchants reach.
    for model in (Order, Product, Variant, Merchant, Category, Review):
        assert admin.site.is_registered(model)
