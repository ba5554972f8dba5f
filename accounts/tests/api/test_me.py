import pytest

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


def test_me_needs_authentication(api_client):
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_me_with_a_bad_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer nonsense")
    response = api_client.get(ME)
    assert response.status_code == 401
    assert set(response.json()) == {"code", "message"}


def test_me_returns_the_user(auth_client, user):
    response = auth_client.get(ME)
    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "email": user.email, "name": user.name}


def test_me_patch_changes_only_the_name(auth_client, user):
    response = auth_client.patch(ME, {"name": "Grace", "email": "evil@example.com"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Grace"
    user.refresh_from_db()
    assert user.name == "Grace"
    assert user.email != "evil@example.com"


def test_me_patch_too_long_name_is_400(auth_client):
    response = auth_client.patch(ME, {"name": "x" * 151}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["fields"]
