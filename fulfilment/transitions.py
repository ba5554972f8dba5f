"""The return state machine: one table, one guard. Only services call `transition`."""

from __future__ import annotations

from django.utils.translation import gettext as _

from fulfilment.errors import InvalidReturnTransition
from fulfilment.models import Return
from fulfilment.models import ReturnStatus as S

ALLOWED: dict[str, frozenset[str]] = {
    S.REQUESTED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.RECEIVED, S.CANCELLED}),
    S.RECEIVED: frozenset({S.REFUNDED}),
    S.REJECTED: frozenset(),
    S.REFUNDED: frozenset(),
    S.CANCELLED: frozenset(),
}


def transition(return_request: Return, *, to: str) -> str:
    current = return_request.status
    if to not in ALLOWED.get(current, frozenset()):
        raise InvalidReturnTransition(
            _("A return that is %(current)s cannot become %(to)s.")
            % {"current": return_request.get_status_display(), "to": S(to).label}
        )
    return_request.status = to
    return current
