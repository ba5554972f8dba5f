from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from shop.core.errors import ConflictError
from shop.core.idempotency import (
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    idempotent_call,
)
from shop.core.models import IdempotencyKey

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("external", [False, True])
def test_a_retry_replays_the_first_answer_and_runs_nothing(external):
    user, runs = UserFactory(), []

    def run():
        runs.append(1)
        return 201, {"id": len(runs)}

    first = idempotent_call(
        user=user, scope="s", key="k", payload={"a": 1}, run=run, external=external
    )
    second = idempotent_call(
        user=user, scope="s", key="k", payload={"a": 1}, run=run, external=external
    )
    assert first == (201, {"id": 1}, False)
    assert second == (201, {"id": 1}, True)
    assert len(runs) == 1


@pytest.mark.parametrize("external", [False, True])
def test_the_same_key_with_another_body_is_refused(external):
    user = UserFactory()
    idempotent_call(
        user=user, scope="s", key="k", payload={"a": 1}, run=lambda: (201, {}), external=external
    )
    with pytest.raises(IdempotencyKeyReused):
        idempotent_call(
            user=user,
            scope="s",
            key="k",
            payload={"a": 2},
            run=lambda: (201, {}),
            external=external,
        )


@pytest.mark.parametrize("external", [False, True])
def test_a_failed_call_stores_nothing_and_can_be_retried(external):
    user = UserFactory()

    def fail():
        raise ConflictError("not now")

    with pytest.raises(ConflictError):
        idempotent_call(user=user, scope="s", key="k", payload={}, run=fail, external=external)
    assert not IdempotencyKey.objects.exists()
    assert idempotent_call(
        user=user,
        scope="s",
        key="k",
        payload={},
        run=lambda: (201, {"ok": True}),
        external=external,
    ) == (201, {"ok": True}, False)


def test_a_claim_is_one_statement_and_a_replay_one_more(django_assert_num_queries):
    # Checkout's hot path (bench/orders_suite.py): no savepoint around the claim.
    user = UserFactory()
    # The call's transaction (a savepoint pair inside the test's), the claim, the answer.
    with django_assert_num_queries(4):
        idempotent_call(user=user, scope="s", key="k", payload={}, run=lambda: (201, {}))
    # The pair, the claim that finds the key, the stored answer.
    with django_assert_num_queries(4):
        idempotent_call(user=user, scope="s", key="k", payload={}, run=lambda: (201, {}))


@pytest.mark.django_db(transaction=True)
def test_external_work_runs_outside_any_transaction():
    seen = {}

    def run():
        seen["in_atomic"] = connection.in_atomic_block
        return 201, {}

    idempotent_call(user=UserFactory(), scope="s", key="k", payload={}, run=run, external=True)
    assert seen["in_atomic"] is False  # a provider call never holds database locks
    assert IdempotencyKey.objects.get().response_status == 201


def test_a_retry_while_the_first_is_running_is_a_409_and_an_abandoned_one_is_taken_over():
    user = UserFactory()
    IdempotencyKey.objects.create(
        user=user, scope="s", key="k", request_hash=_hash({}), response_status=0, response_body={}
    )
    with pytest.raises(IdempotencyKeyInProgress) as exc:
        idempotent_call(
            user=user, scope="s", key="k", payload={}, run=lambda: (201, {}), external=True
        )
    assert exc.value.status_code == 409

    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert idempotent_call(
        user=user, scope="s", key="k", payload={}, run=lambda: (201, {"n": 1}), external=True
    ) == (201, {"n": 1}, False)


def _hash(payload):
    from shop.core.idempotency import request_fingerprint

    return request_fingerprint(payload)
