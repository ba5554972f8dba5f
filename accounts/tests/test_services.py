import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import Address, User
from accounts.tests.factories import AddressFactory, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "plum-orbit-velvet-42"
SITE = "http://testserver/"


def _register(email, password=STRONG, name=""):
    return services.user_register(
        email=email, password=password, name=name, client_address=None, site_url=SITE
    )


def test_user_register_creates_an_active_user_with_a_hashed_password():
    registration = _register("Ada@Example.COM", name=" Ada ")

    user = User.objects.get()
    assert (registration.id, registration.email, registration.name) == (
        user.pk,
        "Ada@example.com",  # the domain part is normalized
        "Ada",
    )
    assert user.email == "Ada@example.com"
    assert user.name == "Ada"
    assert user.is_active and not user.is_staff
    assert user.check_password(STRONG)
    assert user.password != STRONG


@pytest.mark.parametrize(
    "password",
    ["short1", "password123", "12345678901", "ada.lovelace@example.com"],
    ids=["too-short", "common", "numeric", "like-the-email"],
)
def test_user_register_refuses_weak_passwords(password):
    with pytest.raises(ValidationError) as exc:
        _register("ada.lovelace@example.com", password)

    assert "password" in exc.value.message_dict
    assert not User.objects.exists()


def test_user_register_refuses_a_password_like_the_name():
    with pytest.raises(ValidationError) as exc:
        _register("x@example.com", "Wilhelmina1", name="Wilhelmina")
    assert "password" in exc.value.message_dict


def test_user_register_reports_every_bad_field_at_once():
    with pytest.raises(ValidationError) as exc:
        _register("not-an-email", "1")
    assert set(exc.value.message_dict) == {"email", "password"}


def test_user_register_stores_the_plain_form_of_a_fullwidth_email():
    _register("\uff41da@\uff45xample.com")
    assert User.objects.get().email == "ada@example.com"


def test_user_update_changes_the_name():
    user = UserFactory(name="Old")
    services.user_update(user=user, name="  New Name ")
    user.refresh_from_db()
    assert user.name == "New Name"


# --- addresses ------------------------------------------------------------------------------

ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "London",
    "postal_code": "N1 1AA",
    "country": "gb",
}


def test_address_create_upper_cases_the_country_and_makes_the_first_default():
    user = UserFactory()
    first = services.address_create(user=user, **ADDRESS)
    second = services.address_create(user=user, **ADDRESS)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.country == "GB"
    assert first.is_default and not second.is_default


def test_address_create_as_default_moves_the_default():
    user = UserFactory()
    first = services.address_create(user=user, **ADDRESS)
    second = services.address_create(user=user, is_default=True, **ADDRESS)

    assert list(Address.objects.filter(user=user, is_default=True)) == [second]
    first.refresh_from_db()
    assert not first.is_default


@pytest.mark.parametrize("country", ["XX", "G", "GBR", "", "1A"])
def test_address_create_refuses_unknown_countries(country):
    with pytest.raises(ValidationError) as exc:
        services.address_create(user=UserFactory(), **{**ADDRESS, "country": country})
    assert "country" in exc.value.message_dict
    assert not Address.objects.exists()


def test_address_create_refuses_missing_required_fields():
    with pytest.raises(ValidationError) as exc:
        services.address_create(user=UserFactory(), **{**ADDRESS, "line1": "  ", "city": ""})
    assert {"line1", "city"} <= set(exc.value.message_dict)


def test_address_update_changes_fields_and_can_take_the_default():
    user = UserFactory()
    first = services.address_create(user=user, **ADDRESS)
    second = services.address_create(user=user, **ADDRESS)

    services.address_update(address=second, city="Paris", country="fr", is_default=True)

    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.city, second.country, second.is_default) == ("Paris", "FR", True)
    assert not first.is_default


def test_address_update_refuses_a_bad_country_and_keeps_the_row():
    address = AddressFactory(country="US")
    with pytest.raises(ValidationError):
        services.address_update(address=address, country="ZZ")
    address.refresh_from_db()
    assert address.country == "US"


def test_address_delete_hands_the_default_to_the_newest_remaining():
    user = UserFactory()
    default = services.address_create(user=user, **ADDRESS)
    older = services.address_create(user=user, **ADDRESS)
    newer = services.address_create(user=user, **ADDRESS)

    services.address_delete(address=default)

    assert not Address.objects.filter(pk=default.pk).exists()
    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.is_default and not older.is_default


def test_one_default_per_user_is_also_a_database_constraint():
    from django.db import IntegrityError, transaction

    user = UserFactory()
    AddressFactory(user=user, is_default=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        AddressFactory(user=user, is_default=True)
    assert Address.objects.filter(user=user).count() == 1
