"""Payment providers behind one small interface (`base.PaymentProvider`), chosen by name."""

from __future__ import annotations

from payments.errors import ProviderUnavailable
from payments.models import Provider
from payments.providers.base import PaymentProvider
from payments.providers.sandbox import SandboxProvider
from payments.providers.stripe import StripeProvider

PROVIDERS: dict[str, PaymentProvider] = {
    Provider.SANDBOX: SandboxProvider(),
    Provider.STRIPE: StripeProvider(),
}


def provider_get(name: str) -> PaymentProvider:
    """A provider the shop offers (its settings are there); else ProviderUnavailable."""
    provider = PROVIDERS.get(name)
    if provider is None or not provider.is_configured():
        raise ProviderUnavailable()
    return provider
