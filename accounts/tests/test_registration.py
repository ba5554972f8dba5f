"""Registering never tells whether an email has an account: the same answer, the same
work, and a mail to the owner instead (API.md: "A taken email must not be told apart from
a new one by the answer")."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.hashers import CountingMD5Hasher

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
STRONG = "plum-orbit-velvet-42"
# Headers that differ between any two answers, whatever they answer.
VOLATILE = {"Date", "Content-Length"}


def _post(api_client, email, name="Ann", address="203.0.113.7"):
    return api_client.post(
        REGISTER,
        {"email": email, "password": STRONG, "name": name},
        format="json",
        REMOTE_ADDR=address,
    )


def test_api_answers_a_taken_email_exactly_as_a_new_one(api_client):
    owner = UserFactory(email="taken@example.com", name="Owner")

    new = _post(api_client, "new@example.com")
    taken = _post(api_client, "TAKEN@example.com")

    assert new.status_code == taken.status_code == 201
    assert set(new.json()) == set(taken.json()) == {"id", "email", "name"}
    assert taken.json()["email"] == "TAKEN@example.com"  # what was sent, as a new one's is
    assert taken.json()["name"] == "Ann"  # not the owner's
    assert {k for k, _ in new.items()} - VOLATILE == {k for k, _ in taken.items()} - VOLATILE
    # Nothing was created or changed for the taken email.
    assert User.objects.count() == 2
    owner.refresh_from_db()
    assert owner.name == "Owner" and not owner.check_password(STRONG)


def test_a_taken_emails_id_is_as_fresh_as_a_new_accounts(api_client):
    UserFactory(email="taken@example.com")
    first = _post(api_client, "first@example.com").json()["id"]
    taken = _post(api_client, "taken@example.com").json()["id"]
    second = _post(api_client, "second@example.com").json()["id"]

    # Consecutive, like three new accounts: neither the size nor a gap gives it away...
    assert first < taken < second
    assert second - first == 2
    # ...and no account has it, nor ever will.
    assert not User.objects.filter(pk=taken).exists()


def test_the_owner_of_a_taken_email_is_told_by_mail_and_a_new_account_welcomed(api_client):
    UserFactory(email="taken@example.com")

    _post(api_client, "new@example.com")
    _post(api_client, "taken@example.com")

    welcome, taken = mail.outbox
    assert welcome.to == ["new@example.com"]
    assert "ready" in welcome.body
    assert taken.to == ["taken@example.com"]
    assert "tried to create a Bazaar account" in taken.body
    assert "http://testserver/accounts/password/reset/" in taken.body
    assert "http://testserver/accounts/login/" in taken.body


def test_a_taken_email_costs_the_same_password_hashing_as_a_new_one(api_client, settings):
    settings.PASSWORD_HASHERS = ["accounts.tests.hashers.CountingMD5Hasher"]
    UserFactory(email="taken@example.com")

    CountingMD5Hasher.calls = 0
    _post(api_client, "new@example.com")
    new_calls = CountingMD5Hasher.calls
    CountingMD5Hasher.calls = 0
    _post(api_client, "taken@example.com")

    assert new_calls >= 1
    assert CountingMD5Hasher.calls == new_calls


@pytest.mark.parametrize(
    "spelling",
    [
        "Shopper@example.com",
        "shopper@EXAMPLE.com",
        "\u017fhopper@example.com",  # long s, which PostgreSQL's UPPER makes S
        "shopper@\uff45xample.com",  # fullwidth e: NFKC makes it the plain address
    ],
    ids=["case", "domain-case", "long-s", "fullwidth-domain"],
)
def test_spellings_of_a_taken_email_create_nothing(api_client, spelling):
    UserFactory(email="shopper@example.com")
    response = _post(api_client, spelling)
    assert response.status_code == 201
    assert User.objects.count() == 1
    assert mail.outbox[0].to == ["shopper@example.com"]


def test_a_weak_password_is_400_for_a_new_and_a_taken_email_alike(api_client):
    UserFactory(email="taken@example.com")
    answers = [
        api_client.post(REGISTER, {"email": email, "password": "123"}, format="json")
        for email in ("new@example.com", "taken@example.com")
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json() == answers[1].json()
    assert list(answers[0].json()["fields"]) == ["password"]
    assert mail.outbox == []


def test_register_page_answers_a_taken_email_exactly_as_a_new_one(client):
    UserFactory(email="taken@example.com")

    new = client.post(
        "/accounts/register/", {"email": "new@example.com", "name": "", "password": STRONG}
    )
    assert SESSION_KEY not in client.session  # logging in would tell
    taken = client.post(
        "/accounts/register/", {"email": "taken@example.com", "name": "", "password": STRONG}
    )

    assert (new.status_code, new["Location"]) == (taken.status_code, taken["Location"])
    assert new["Location"] == "/accounts/register/done/"
    assert SESSION_KEY not in client.session
    assert set(new.cookies) == set(taken.cookies)
    assert User.objects.filter(email="new@example.com").exists()
    assert User.objects.count() == 2
    assert [m.to for m in mail.outbox] == [["new@example.com"], ["taken@example.com"]]


def test_register_done_page_says_to_check_the_mail_and_links_to_log_in(client):
    html = client.get("/accounts/register/done/").content.decode()
    assert "Check your email" in html
    assert re.search(r'<a [^>]*href="/accounts/login/"', html)


def test_a_new_account_logs_in_with_the_password_it_chose(client):
    client.post("/accounts/register/", {"email": "new@example.com", "name": "", "password": STRONG})
    response = client.post("/accounts/login/", {"email": "new@example.com", "password": STRONG})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(User.objects.get().pk)


# --- registration throttle: per client address, page and API sharing one budget -------------


def _register_page(client, email, **extra):
    return client.post(
        "/accounts/register/", {"email": email, "name": "", "password": STRONG}, **extra
    )


def test_page_and_api_share_one_budget_per_address(client, api_client, settings):
    settings.REGISTER_RATE = "2/hour"
    assert _post(api_client, "a@example.com", address="203.0.113.7").status_code == 201
    page = _register_page(client, "b@example.com", REMOTE_ADDR="203.0.113.7")
    assert page.status_code == 302

    refused = _register_page(client, "c@example.com", REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 200
    assert "Too many requests" in refused.content.decode()
    api = _post(api_client, "d@example.com", address="203.0.113.7")
    assert api.status_code == 429
    assert 0 < int(api["Retry-After"]) <= 3600
    assert not User.objects.filter(email__in=["c@example.com", "d@example.com"]).exists()
    # Another address has a budget of its own.
    assert _post(api_client, "e@example.com", address="198.51.100.9").status_code == 201


def test_forwarded_for_does_not_reset_the_throttle_without_trusted_proxies(api_client, settings):
    settings.REGISTER_RATE = "2/hour"
    settings.TRUSTED_PROXY_COUNT = 0
    statuses = [
        api_client.post(
            REGISTER,
            {"email": f"u{n}@example.com", "password": STRONG},
            format="json",
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"10.9.8.{n}",
        ).status_code
        for n in range(4)
    ]
    assert statuses == [201, 201, 429, 429]


def test_behind_one_proxy_only_the_address_it_saw_counts(api_client, settings):
    settings.REGISTER_RATE = "2/hour"
    settings.TRUSTED_PROXY_COUNT = 1

    def post(n, forwarded):
        return api_client.post(
            REGISTER,
            {"email": f"u{n}@example.com", "password": STRONG},
            format="json",
            REMOTE_ADDR="10.0.0.1",  # our proxy
            HTTP_X_FORWARDED_FOR=forwarded,
        ).status_code

    # The client prepends what it likes; our proxy appends the address it saw.
    spoofed = [post(n, f"6.6.6.{n}, 203.0.113.7") for n in range(3)]
    assert spoofed == [201, 201, 429]
    # Another real client behind the same proxy is not throttled by them.
    assert post(9, "198.51.100.9") == 201


def test_the_register_rate_defaults_to_thirty_an_hour():
    from django.conf import settings

    assert settings.REGISTER_RATE == "30/hour"
