"""`manage.py check --deploy` warnings about payment settings that are wrong in production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def payment_settings_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if settings.SANDBOX_ENABLED and settings.SANDBOX_WEBHOOK_SECRET:
        messages.append(
            Warning(
                "The sandbox payment provider is on: anyone can pay an order with it, "
                "without money.",
                hint="Set SANDBOX_ENABLED=false wherever real customers shop.",
                id="payments.W001",
            )
        )
    if settings.STRIPE_API_KEY and not settings.STRIPE_WEBHOOK_SECRET:
        messages.append(
            Warning(
                "STRIPE_API_KEY is set but STRIPE_WEBHOOK_SECRET is not: no Stripe webhook "
                "verifies, so no card payment is ever marked paid.",
                hint="Set STRIPE_WEBHOOK_SECRET to the signing secret of the webhook endpoint.",
                id="payments.W002",
            )
        )
    return messages
