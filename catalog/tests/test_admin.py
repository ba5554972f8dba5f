"""The catalog admin: merchant staff see and change only their own merchant's catalog."""

import os
from decimal import Decimal
from io import BytesIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from accounts.tests.factories import UserFactory
from catalog.models import Product, ProductImage, StockMovement, Variant
from catalog.services import MERCHANTS_GROUP
from catalog.tasks import product_image_thumbnail_task
from catalog.tests.factories import (
    CategoryFactory,
    MerchantFactory,
    ProductAttributeFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

MERCHANT_PERMISSIONS = {
    "view_product",
    "add_product",
    "change_product",
    "delete_product",
    "view_variant",
    "add_variant",
    "change_variant",
    "delete_variant",
    "view_productimage",
    "add_productimage",
    "change_productimage",
    "delete_productimage",
    "view_productattribute",
    "add_productattribute",
    "change_productattribute",
    "delete_productattribute",
    "view_merchant",
    "view_category",
}


def _merchant_staff(*merchants):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=MERCHANTS_GROUP))
    for merchant in merchants:
        merchant.staff.add(user)
    return user


@pytest.fixture
def merchant_a():
    return MerchantFactory(name="Alpha Goods")


@pytest.fixture
def merchant_b():
    return MerchantFactory(name="Beta Supply")


@pytest.fixture
def product_a(merchant_a):
    return ProductFactory(merchant=merchant_a, name="Alpha Lamp", variants__sku="A-1")


@pytest.fixture
def product_b(merchant_b):
    return ProductFactory(merchant=merchant_b, name="Beta Kettle", variants__sku="B-1")


@pytest.fixture
def staff_a(merchant_a):
    return _merchant_staff(merchant_a)


@pytest.fixture
def client_a(client, staff_a):
    client.force_login(staff_a)
    return client


@pytest.fixture
def queued_thumbnails(monkeypatch):
    """The thumbnail tasks sent to the broker (their kwargs), instead of sending them."""
    sent = []
    monkeypatch.setattr(
        product_image_thumbnail_task, "apply_async", lambda kwargs, **options: sent.append(kwargs)
    )
    return sent


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _png(name="photo.png", size=(900, 600)):
    buffer = BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _formset(prefix, rows, *, initial=0):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def _adjust(client, variant, delta, *, reason="adjustment", note=""):
    url = reverse("admin:catalog_variant_adjust_stock", args=[variant.pk])
    return client.post(url, {"delta": str(delta), "reason": reason, "note": note})


def _product_post(
    *, merchant, category, name="Desk Lamp", slug="desk-lamp", variants=None, images=(), initial=0
):
    if variants is None:
        variants = [{"sku": "LAMP-1", "name": "Black", "price_amount": "25.00", "stock": "4"}]
    variants = [{"currency": "USD", "is_active": "on", "position": "0", **row} for row in variants]
    return {
        "merchant": str(merchant.pk),
        "category": str(category.pk),
        "name": name,
        "slug": slug,
        "description": "",
        "is_active": "on",
        "currency": "USD",
        "_save": "Save",
        **_formset("variants", variants, initial=initial),
        **_formset("images", list(images)),
        **_formset("attributes", []),
    }


# --- the Merchants group ----------------------------------------------------------------


def test_merchants_group_has_exactly_the_catalog_permissions_staff_need():
    group = Group.objects.get(name=MERCHANTS_GROUP)
    codenames = set(
        group.permissions.filter(content_type__app_label="catalog").values_list(
            "codename", flat=True
        )
    )
    assert codenames == MERCHANT_PERMISSIONS
    # Nothing from other parts of the shop's own catalog admin (categories, merchants).
    assert not group.permissions.filter(codename__in=["change_category", "change_merchant"])
    assert Permission.objects.filter(codename="view_category").exists()


# --- scoping of merchant staff ---------------------------------------------------------


def test_staff_changelist_lists_only_their_merchants_products(client_a, product_a, product_b):
    response = client_a.get(reverse("admin:catalog_product_changelist"))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [product_a]
    assert b"Beta Kettle" not in response.content


def test_staff_search_by_sku_stays_scoped(client_a, product_a, product_b):
    url = reverse("admin:catalog_product_changelist")

    def found(term):
        return list(client_a.get(url, {"q": term}).context["cl"].result_list)

    assert found("B-1") == []
    assert found("Kettle") == []
    assert found("A-1") == [product_a]
    assert found("a-1") == [product_a]
    assert found("lamp alph") == [product_a]
    assert found('"Alpha Lamp"') == [product_a]
    assert found("alpha-lamp") == [product_a]


def test_staff_opens_own_product_but_another_merchants_is_404(client_a, product_a, product_b):
    own = client_a.get(reverse("admin:catalog_product_change", args=[product_a.pk]))
    other = client_a.get(reverse("admin:catalog_product_change", args=[product_b.pk]))
    missing = client_a.get(reverse("admin:catalog_product_change", args=[999_999]))

    assert own.status_code == 200
    assert other.status_code == 404
    # Out of scope and absent look alike: nothing tells whether B's product exists.
    assert missing.status_code == 404


def test_staff_cannot_post_to_or_delete_another_merchants_product(client_a, product_b, merchant_b):
    data = _product_post(
        merchant=merchant_b, category=product_b.category, name="Hijacked", slug=product_b.slug
    )
    change = client_a.post(reverse("admin:catalog_product_change", args=[product_b.pk]), data)
    delete = client_a.post(
        reverse("admin:catalog_product_delete", args=[product_b.pk]), {"post": "yes"}
    )

    assert change.status_code == 404
    assert delete.status_code == 404
    product_b.refresh_from_db()
    assert product_b.name == "Beta Kettle"


def test_staff_add_form_offers_only_their_merchant_preselected(client_a, merchant_a, merchant_b):
    response = client_a.get(reverse("admin:catalog_product_add"))

    field = response.context["adminform"].form.fields["merchant"]
    assert list(field.queryset) == [merchant_a]
    assert field.initial == merchant_a.pk


def test_staff_with_two_merchants_gets_no_preselection(client, merchant_a, merchant_b):
    client.force_login(_merchant_staff(merchant_a, merchant_b))

    field = (
        client.get(reverse("admin:catalog_product_add"))
        .context["adminform"]
        .form.fields["merchant"]
    )

    assert set(field.queryset) == {merchant_a, merchant_b}
    assert field.initial is None


def test_staff_cannot_create_a_product_for_another_merchant(client_a, merchant_b):
    category = CategoryFactory()

    response = client_a.post(
        reverse("admin:catalog_product_add"), _product_post(merchant=merchant_b, category=category)
    )

    assert response.status_code == 200  # the form again, with an error; not a 500
    assert "merchant" in response.context["adminform"].form.errors
    assert not Product.objects.filter(slug="desk-lamp").exists()


def test_staff_creates_a_product_for_their_merchant(client_a, merchant_a, staff_a):
    category = CategoryFactory()

    response = client_a.post(
        reverse("admin:catalog_product_add"), _product_post(merchant=merchant_a, category=category)
    )

    assert response.status_code == 302
    product = Product.objects.get(slug="desk-lamp")
    assert product.merchant == merchant_a
    variant = product.variants.get()
    assert (variant.sku, variant.stock) == ("LAMP-1", 4)
    assert product.in_stock is True
    # Created with none, then its initial stock recorded as the first movement.
    movement = variant.stock_movements.get()
    assert (movement.reason, movement.delta, movement.stock_after) == ("initial", 4, 4)
    assert movement.actor == staff_a


def test_product_form_refuses_a_merchant_the_user_does_not_work_for(rf, staff_a, merchant_b):
    # The second line behind the limited choices: the form's own clean.
    from django.contrib.admin.sites import site

    request = rf.get("/")
    request.user = staff_a
    form_class = site._registry[Product].get_form(request)
    form_class.base_fields["merchant"].queryset = type(merchant_b).objects.all()
    form = form_class(
        data={
            "merchant": merchant_b.pk,
            "category": CategoryFactory().pk,
            "name": "X",
            "slug": "x",
            "currency": "USD",
        }
    )

    assert not form.is_valid()
    assert form.errors["merchant"] == ["You can only manage products of merchants you work for."]


def test_variant_changelist_is_scoped(client_a, product_a, product_b):
    response = client_a.get(reverse("admin:catalog_variant_changelist"))

    assert response.status_code == 200
    assert [v.sku for v in response.context["cl"].result_list] == ["A-1"]
    other = product_b.variants.get()
    assert client_a.get(reverse("admin:catalog_variant_change", args=[other.pk])).status_code == 404


def test_variant_add_offers_only_own_products(client_a, product_a, product_b):
    response = client_a.post(
        reverse("admin:catalog_variant_add"),
        {
            "product": product_b.pk,
            "sku": "B-2",
            "name": "Sneaky",
            "price_amount": "1.00",
            "currency": "USD",
            "stock": "1",
            "position": "0",
        },
    )

    assert response.status_code == 200
    assert "product" in response.context["adminform"].form.errors
    assert not Variant.objects.filter(sku="B-2").exists()


def test_staff_sees_own_merchant_read_only_and_not_others(client_a, merchant_a, merchant_b):
    changelist = client_a.get(reverse("admin:catalog_merchant_changelist"))
    own = client_a.get(reverse("admin:catalog_merchant_change", args=[merchant_a.pk]))
    other = client_a.get(reverse("admin:catalog_merchant_change", args=[merchant_b.pk]))
    post = client_a.post(
        reverse("admin:catalog_merchant_change", args=[merchant_a.pk]),
        {"name": "Renamed", "slug": merchant_a.slug, "is_active": "on"},
    )

    assert list(changelist.context["cl"].result_list) == [merchant_a]
    assert own.status_code == 200
    assert own.context["has_change_permission"] is False
    assert other.status_code == 404
    assert post.status_code == 403
    merchant_a.refresh_from_db()
    assert merchant_a.name == "Alpha Goods"


def test_superuser_sees_every_merchants_products_and_variants(
    superuser_client, product_a, product_b
):
    products = superuser_client.get(reverse("admin:catalog_product_changelist"))
    variants = superuser_client.get(reverse("admin:catalog_variant_changelist"))
    change = superuser_client.get(reverse("admin:catalog_product_change", args=[product_b.pk]))

    assert set(products.context["cl"].result_list) == {product_a, product_b}
    assert {v.sku for v in variants.context["cl"].result_list} == {"A-1", "B-1"}
    assert change.status_code == 200
    filters = [spec.title for spec in products.context["cl"].filter_specs]
    assert "merchant" in filters


def test_staff_list_filters_leave_out_merchant(client_a, product_a):
    response = client_a.get(reverse("admin:catalog_product_changelist"))

    assert "merchant" not in [spec.title for spec in response.context["cl"].filter_specs]


@pytest.mark.parametrize("page", ["product", "variant"])
def test_changelist_queries_do_not_grow_with_rows(superuser_client, page):
    url = reverse(f"admin:catalog_{page}_changelist")
    ProductFactory.create_batch(3)
    superuser_client.get(url)  # warm sessions and content types
    with CaptureQueriesContext(connection) as few:
        superuser_client.get(url)
    ProductFactory.create_batch(6)
    with CaptureQueriesContext(connection) as many:
        response = superuser_client.get(url)

    assert len(response.context["cl"].result_list) == 9
    assert len(many) == len(few)


@pytest.mark.parametrize("rows", [1, 6])
def test_product_change_page_stays_within_8_queries(superuser_client, rows):
    product = ProductFactory(variants=rows)
    for position in range(rows):
        ProductAttributeFactory(product=product, position=position)
    url = reverse("admin:catalog_product_change", args=[product.pk])
    superuser_client.get(url)  # warm sessions and content types
    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get(url)

    assert response.status_code == 200
    assert response.content.decode().count('name="variants-') >= rows
    assert len(queries) <= 8, "\n".join(q["sql"][:120] for q in queries)


def test_category_changelist_shows_the_tree_path(superuser_client):
    root = CategoryFactory(name="Electronics")
    CategoryFactory(name="Headphones", parent=root)

    response = superuser_client.get(reverse("admin:catalog_category_changelist"))

    assert response.status_code == 200
    assert "Electronics / Headphones" in response.content.decode()


def test_merchant_staff_can_view_but_not_change_categories(client_a):
    category = CategoryFactory()
    url = reverse("admin:catalog_category_change", args=[category.pk])

    assert client_a.get(url).context["has_change_permission"] is False
    assert client_a.post(url, {"name": "X", "slug": "x", "position": "0"}).status_code == 403


# --- saving through the admin ----------------------------------------------------------


def test_saving_a_product_refreshes_its_summary_and_queues_thumbnails(
    client_a, product_a, settings, tmp_path, queued_thumbnails, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    variant = product_a.variants.get()
    assert _adjust(client_a, variant, -10).status_code == 302  # A-1 sold out
    data = _product_post(
        merchant=product_a.merchant,
        category=product_a.category,
        name=product_a.name,
        slug=product_a.slug,
        initial=1,
        variants=[
            {"id": variant.pk, "product": product_a.pk, "sku": "A-1", "name": "Old",
             "price_amount": "30.00"},
            {"sku": "A-2", "name": "New", "price_amount": "12.50", "stock": "3"},
        ],
        images=[{"image": _png(), "alt_text": "Lamp", "position": "0"}],
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(reverse("admin:catalog_product_change", args=[product_a.pk]), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    product_a.refresh_from_db()
    assert product_a.price_amount == Decimal("12.50")
    assert product_a.in_stock is True  # from the new variant alone
    assert Variant.objects.get(sku="A-2").stock == 3
    image = ProductImage.objects.get(product=product_a)
    # Not made in the request: a task was queued once the save committed.
    assert not image.thumbnail
    assert queued_thumbnails == [{"image_id": image.pk}]
    product_image_thumbnail_task(**queued_thumbnails[0])
    image.refresh_from_db()
    assert image.thumbnail.name.endswith("-thumb.jpg")
    with Image.open(tmp_path / image.thumbnail.name) as thumbnail:
        assert max(thumbnail.size) == 400


def test_saving_with_every_variant_out_of_stock_marks_product_out_of_stock(client_a, product_a):
    variant = product_a.variants.get()
    assert _adjust(client_a, variant, -10).status_code == 302
    data = _product_post(
        merchant=product_a.merchant,
        category=product_a.category,
        name=product_a.name,
        slug=product_a.slug,
        initial=1,
        variants=[{"id": variant.pk, "product": product_a.pk, "sku": "A-1", "name": "Only",
                   "price_amount": "9.00"}],
    )  # fmt: skip

    client_a.post(reverse("admin:catalog_product_change", args=[product_a.pk]), data)

    product_a.refresh_from_db()
    assert (product_a.price_amount, product_a.in_stock) == (Decimal("9.00"), False)


def test_a_product_without_variants_is_a_form_error(client_a, merchant_a):
    data = _product_post(merchant=merchant_a, category=CategoryFactory(), variants=[])

    response = client_a.post(reverse("admin:catalog_product_add"), data)

    assert response.status_code == 200
    errors = [str(e) for formset in response.context["inline_admin_formsets"]
              for e in formset.formset.non_form_errors()]  # fmt: skip
    assert any("at least 1 variant" in error for error in errors)
    assert not Product.objects.filter(slug="desk-lamp").exists()


def test_deleting_the_last_variant_is_a_form_error(client_a, product_a):
    variant = product_a.variants.get()
    data = _product_post(
        merchant=product_a.merchant,
        category=product_a.category,
        name=product_a.name,
        slug=product_a.slug,
        initial=1,
        variants=[{"id": variant.pk, "product": product_a.pk, "sku": "A-1", "name": "Only",
                   "price_amount": "9.00", "stock": "1", "DELETE": "on"}],
    )  # fmt: skip

    response = client_a.post(reverse("admin:catalog_product_change", args=[product_a.pk]), data)

    assert response.status_code == 200
    assert Variant.objects.filter(pk=variant.pk).exists()


def test_stock_below_reserved_is_a_form_error_and_reserved_is_never_overwritten(
    client_a, product_a
):
    variant = product_a.variants.get()
    Variant.objects.filter(pk=variant.pk).update(stock=10, reserved=6)
    url = reverse("admin:catalog_variant_change", args=[variant.pk])
    row = {
        "product": product_a.pk,
        "sku": "A-1",
        "name": "Only",
        "price_amount": "9.00",
        "currency": "USD",
        "is_active": "on",
        "position": "0",
    }

    too_low = _adjust(client_a, variant, -5)  # 10 - 5 = 5 < 6 reserved
    client_a.get(url)  # the admin loaded reserved=6 ...
    Variant.objects.filter(pk=variant.pk).update(reserved=7)  # ... then an order reserved one
    ok = _adjust(client_a, variant, -2)
    edit = client_a.post(url, {**row, "name": "Renamed"})

    assert too_low.status_code == 200
    assert "delta" in too_low.context["form"].errors
    assert ok.status_code == 302
    assert edit.status_code == 302
    variant.refresh_from_db()
    assert (variant.stock, variant.reserved, variant.name) == (8, 7, "Renamed")


def test_variant_list_edit_refreshes_the_product_summary(superuser_client):
    product = ProductFactory(variants__price_amount=Decimal("20.00"), variants__stock=5)
    variant = product.variants.get()
    other = VariantFactory(product=product, price_amount=Decimal("30.00"), stock=0)
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "2",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, (row, price) in enumerate([(variant, "20.00"), (other, "7.00")]):
        data.update({
            f"form-{index}-id": row.pk,
            f"form-{index}-price_amount": price,
            f"form-{index}-is_active": "on",
        })  # fmt: skip
    assert _adjust(superuser_client, variant, -5).status_code == 302

    response = superuser_client.post(reverse("admin:catalog_variant_changelist"), data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.price_amount, product.in_stock) == (Decimal("7.00"), False)


# --- stock: read-only, changed through "Adjust stock" -----------------------------------


def _variant_row(variant, **changes):
    return {
        "product": variant.product_id,
        "sku": variant.sku,
        "name": variant.name,
        "price_amount": str(variant.price_amount),
        "currency": variant.currency,
        "is_active": "on",
        "position": str(variant.position),
        **changes,
    }


def test_adjust_stock_form_changes_stock_and_records_who_and_why(client_a, product_a, staff_a):
    variant = product_a.variants.get()
    url = reverse("admin:catalog_variant_adjust_stock", args=[variant.pk])

    page = client_a.get(url)
    response = _adjust(client_a, variant, -3, reason="damaged", note="Dropped a box")

    assert page.status_code == 200
    assert "10 on hand" in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:catalog_variant_change", args=[variant.pk])
    variant.refresh_from_db()
    assert variant.stock == 7
    movement = StockMovement.objects.get(variant=variant)
    assert (movement.delta, movement.reason, movement.note) == (-3, "damaged", "Dropped a box")
    assert (movement.actor, movement.stock_after) == (staff_a, 7)
    change_page = client_a.get(response["Location"]).content.decode()
    assert "changed by -3: 7 on hand now" in change_page
    # The change page lists the movement and links to the form.
    assert "Dropped a box" in change_page
    assert "Damaged or lost" in change_page
    assert url in change_page


def test_adjust_stock_form_shows_the_services_refusal_as_a_form_error(client_a, product_a):
    variant = product_a.variants.get()
    Variant.objects.filter(pk=variant.pk).update(stock=10, reserved=4)

    below_reserved = _adjust(client_a, variant, -7)
    below_zero = _adjust(client_a, variant, -11)
    zero = _adjust(client_a, variant, 0)
    initial = _adjust(client_a, variant, 5, reason="initial")  # recorded on creation only

    assert below_reserved.status_code == 200
    assert "4 are reserved by open orders" in below_reserved.context["form"].errors["delta"][0]
    assert "Only 10 on hand" in below_zero.context["form"].errors["delta"][0]
    assert "other than 0" in zero.context["form"].errors["delta"][0]
    assert "reason" in initial.context["form"].errors
    variant.refresh_from_db()
    assert (variant.stock, variant.reserved) == (10, 4)
    assert not StockMovement.objects.exists()


def test_staff_cannot_adjust_another_merchants_variant(client_a, product_b):
    variant = product_b.variants.get()
    url = reverse("admin:catalog_variant_adjust_stock", args=[variant.pk])

    assert client_a.get(url).status_code == 404
    assert _adjust(client_a, variant, 5).status_code == 404
    variant.refresh_from_db()
    assert variant.stock == 10
    assert not StockMovement.objects.exists()


def test_changelist_action_opens_the_adjust_form_for_one_variant(superuser_client):
    first, second = VariantFactory(), VariantFactory()
    url = reverse("admin:catalog_variant_changelist")

    def act(*variants):
        return superuser_client.post(
            url, {"action": "adjust_stock_action", "_selected_action": [v.pk for v in variants]}
        )

    one = act(first)
    two = act(first, second)

    assert one.status_code == 302
    assert one["Location"] == reverse("admin:catalog_variant_adjust_stock", args=[first.pk])
    assert two.status_code == 302
    assert two["Location"].startswith(url)  # back to the list, with a message
    messages = [str(m) for m in superuser_client.get(two["Location"]).context["messages"]]
    assert "Choose exactly one variant to adjust." in messages


def test_variant_change_form_shows_stock_read_only_and_ignores_a_posted_stock(client_a, product_a):
    variant = product_a.variants.get()
    url = reverse("admin:catalog_variant_change", args=[variant.pk])

    page = client_a.get(url)
    response = client_a.post(url, _variant_row(variant, stock="99", price_amount="12.00"))

    assert "stock" not in page.context["adminform"].form.fields
    assert "stock" in page.context["adminform"].readonly_fields
    assert response.status_code == 302
    variant.refresh_from_db()
    assert (variant.stock, variant.price_amount) == (10, Decimal("12.00"))
    assert not StockMovement.objects.exists()


def test_variant_changelist_does_not_edit_stock(superuser_client, product_a):
    variant = product_a.variants.get()
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": variant.pk,
        "form-0-price_amount": "11.00",
        "form-0-stock": "99",
        "form-0-is_active": "on",
        "_save": "Save",
    }

    page = superuser_client.get(reverse("admin:catalog_variant_changelist"))
    response = superuser_client.post(reverse("admin:catalog_variant_changelist"), data)

    assert "stock" not in page.context["cl"].list_editable
    assert response.status_code == 302
    variant.refresh_from_db()
    assert (variant.stock, variant.price_amount) == (10, Decimal("11.00"))


def test_product_inline_shows_existing_stock_disabled_and_ignores_a_posted_stock(
    client_a, product_a
):
    variant = product_a.variants.get()
    Variant.objects.filter(pk=variant.pk).update(reserved=3)
    url = reverse("admin:catalog_product_change", args=[product_a.pk])
    data = _product_post(
        merchant=product_a.merchant,
        category=product_a.category,
        name=product_a.name,
        slug=product_a.slug,
        initial=1,
        variants=[{"id": variant.pk, "product": product_a.pk, "sku": "A-1", "name": "Renamed",
                   "price_amount": "9.00", "stock": "99"}],
    )  # fmt: skip

    page = client_a.get(url)
    response = client_a.post(url, data)

    inline_form = page.context["inline_admin_formsets"][0].formset.forms[0]
    assert inline_form.fields["stock"].disabled
    assert response.status_code == 302
    variant.refresh_from_db()
    assert (variant.stock, variant.reserved, variant.name) == (10, 3, "Renamed")
    assert not StockMovement.objects.exists()


def test_adding_a_variant_records_its_initial_stock(client_a, product_a, staff_a):
    response = client_a.post(
        reverse("admin:catalog_variant_add"),
        {
            "product": product_a.pk,
            "sku": "A-2",
            "name": "Blue",
            "price_amount": "5.00",
            "currency": "USD",
            "stock": "6",
            "is_active": "on",
            "position": "1",
        },
    )

    assert response.status_code == 302
    variant = Variant.objects.get(sku="A-2")
    assert variant.stock == 6
    movement = variant.stock_movements.get()
    assert (movement.reason, movement.delta, movement.actor) == ("initial", 6, staff_a)
    product_a.refresh_from_db()
    assert product_a.price_amount == Decimal("5.00")


def test_a_negative_initial_stock_is_a_form_error(client_a, merchant_a):
    data = _product_post(
        merchant=merchant_a,
        category=CategoryFactory(),
        variants=[{"sku": "LAMP-1", "name": "Black", "price_amount": "25.00", "stock": "-1"}],
    )

    response = client_a.post(reverse("admin:catalog_product_add"), data)

    assert response.status_code == 200
    assert not Product.objects.filter(slug="desk-lamp").exists()


# --- image uploads: limits ---------------------------------------------------------------


def _png_header(width, height, name="huge.png"):
    """A tiny PNG file that says it is width x height: only its header is ever read."""
    import struct
    import zlib

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    content = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1)))
        + chunk(b"IEND", b"")
    )
    return SimpleUploadedFile(name, content, content_type="image/png")


def _noise_png(size=(100, 100)):
    """A PNG that does not compress: about 30 KB."""
    picture = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = BytesIO()
    picture.save(buffer, format="PNG")
    return SimpleUploadedFile("noise.png", buffer.getvalue(), content_type="image/png")


def _image_of(image_format, name, size=(60, 40)):
    buffer = BytesIO()
    Image.new("RGB", size, (10, 90, 30)).save(buffer, format=image_format)
    return SimpleUploadedFile(name, buffer.getvalue())


def _post_image(client, product, upload):
    data = _product_post(
        merchant=product.merchant,
        category=product.category,
        name=product.name,
        slug=product.slug,
        initial=1,
        variants=[
            {"id": product.variants.get().pk, "product": product.pk, "sku": "A-1",
             "name": "Old", "price_amount": "30.00"},
        ],
        images=[{"image": upload, "alt_text": "Lamp", "position": "0"}],
    )  # fmt: skip
    return client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)


def test_pillows_decompression_bomb_limit_is_the_shops_pixel_limit(settings):
    assert settings.PRODUCT_IMAGE_MAX_PIXELS == 25_000_000
    assert Image.MAX_IMAGE_PIXELS == settings.PRODUCT_IMAGE_MAX_PIXELS


@pytest.mark.parametrize(
    ("upload", "limits", "message"),
    [
        (lambda: _noise_png(), {"PRODUCT_IMAGE_MAX_BYTES": 10_000}, "at most"),
        (lambda: _png(size=(200, 100)), {"PRODUCT_IMAGE_MAX_PIXELS": 10_000}, "pixels"),
        # Claims 40,000 x 40,000 in a file of a few hundred bytes: Pillow refuses to open it.
        (lambda: _png_header(40_000, 40_000), {}, "valid image"),
        # Claims 6,000 x 6,000 (36 MP): past the limit, below Pillow's hard stop at twice it.
        (lambda: _png_header(6_000, 6_000), {}, "pixels"),
        (lambda: _image_of("BMP", "photo.bmp"), {}, "ending in one of"),
        (lambda: _image_of("TIFF", "photo.png"), {}, "JPEG, PNG, WebP or GIF"),
        (lambda: _image_of("JPEG", "photo.png"), {}, "ending in .png"),
    ],
    ids=["bytes", "pixels", "bomb", "36-megapixels", "bmp", "tiff-named-png", "jpeg-named-png"],
)
# Django's own image check lets Pillow warn about the 36-megapixel picture; ours refuses it.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_admin_refuses_images_beyond_the_limits(
    client_a, product_a, settings, tmp_path, upload, limits, message
):
    settings.MEDIA_ROOT = tmp_path
    for name, value in limits.items():
        setattr(settings, name, value)

    response = _post_image(client_a, product_a, upload())

    assert response.status_code == 200  # the form again, with the error
    errors = " ".join(
        str(error)
        for inline in response.context["inline_admin_formsets"]
        for form_errors in inline.formset.errors
        for field_errors in form_errors.values()
        for error in field_errors
    )
    assert message in errors
    assert not ProductImage.objects.filter(product=product_a).exists()
    assert not list(tmp_path.rglob("*.*"))  # nothing stored either


def test_admin_accepts_images_within_the_limits(client_a, product_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    for name, image_format in [("a.jpg", "JPEG"), ("b.webp", "WEBP"), ("c.gif", "GIF")]:
        ProductImage.objects.filter(product=product_a).delete()
        response = _post_image(client_a, product_a, _image_of(image_format, name))
        assert response.status_code == 302, response.context and response.context["errors"]
        assert ProductImage.objects.get(product=product_a).image.name.endswith(name[1:])


def test_a_stored_image_is_not_checked_again_when_its_row_is_edited(
    client_a, product_a, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    assert _post_image(client_a, product_a, _png(size=(300, 300))).status_code == 302
    image = ProductImage.objects.get(product=product_a)
    settings.PRODUCT_IMAGE_MAX_BYTES = 10  # lowered since

    data = _product_post(
        merchant=product_a.merchant,
        category=product_a.category,
        name=product_a.name,
        slug=product_a.slug,
        initial=1,
        variants=[
            {"id": product_a.variants.get().pk, "product": product_a.pk, "sku": "A-1",
             "name": "Old", "price_amount": "30.00"},
        ],
    )  # fmt: skip
    data.update(
        {
            **_formset(
                "images",
                [
                    {
                        "id": image.pk,
                        "product": product_a.pk,
                        "alt_text": "New text",
                        "position": "0",
                    }
                ],
                initial=1,
            ),
        }
    )
    response = client_a.post(reverse("admin:catalog_product_change", args=[product_a.pk]), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    image.refresh_from_db()
    assert image.alt_text == "New text"
