"""Payments API serializers (API.md "Payments"). Money goes out as 2-place strings."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from payments.models import Payment, Provider


class PaymentCreateInputSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(
        choices=Provider.choices,
        help_text=_("`sandbox` (offline test provider) or `stripe` (when the shop has keys)."),
    )


class PaymentCreateOutputSerializer(serializers.ModelSerializer):
    """A started payment. Exactly one of `client_secret` (stripe: confirm it with Stripe's
    SDK in the app) and `redirect_url` (sandbox: an absolute URL to send the shopper to)."""

    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    # Not read-only on purpose: the schema then lists them as optional, as they are.
    client_secret = serializers.CharField(
        required=False, help_text=_("Stripe only: the PaymentIntent's client secret.")
    )
    redirect_url = serializers.URLField(
        required=False, help_text=_("Sandbox only: the absolute URL of its payment page.")
    )

    class Meta:
        model = Payment
        fields = [
            "id",
            "status",
            "amount",
            "currency",
            "provider",
            "provider_reference",
            "client_secret",
            "redirect_url",
        ]
        read_only_fields = ["id", "status", "amount", "currency", "provider", "provider_reference"]

    def to_representation(self, instance: Payment) -> dict:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if instance.redirect_url and request is not None:
            data["redirect_url"] = request.build_absolute_uri(instance.redirect_url)
        for key in ("client_secret", "redirect_url"):
            if not data.get(key):
                data.pop(key, None)
        return data


class PaymentOutputSerializer(serializers.ModelSerializer):
    """One payment of an order; reads the selector's annotations, so it never queries."""

    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    captured_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        read_only=True,
        help_text=_("Sum of the captures booked on it."),
    )
    refunded_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        read_only=True,
        help_text=_("Sum of the refunds booked on it."),
    )
    created = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "provider",
            "provider_reference",
            "status",
            "amount",
            "captured_amount",
            "refunded_amount",
            "currency",
            "created",
        ]
        read_only_fields = fields


# --- Provider webhooks (POST /payments/webhooks/{provider}/): for the OpenAPI schema only.
# Intake verifies the signature on the raw body and never parses it with these.


class WebhookEventMetadataSerializer(serializers.Serializer):
    order_number = serializers.CharField(required=False, help_text=_("The order's number."))
    payment_id = serializers.CharField(
        required=False, help_text=_("Our id of the payment (`id` of the payments API).")
    )


class WebhookEventObjectSerializer(serializers.Serializer):
    id = serializers.CharField(help_text=_("The payment's `provider_reference`."))
    amount = serializers.IntegerField(
        required=False, help_text=_("In minor units (cents), as the provider counts.")
    )
    amount_refunded = serializers.IntegerField(
        required=False, help_text=_("`charge.refunded`: the total refunded so far.")
    )
    currency = serializers.CharField(
        required=False, help_text=_("ISO 4217 code in lower case, e.g. `usd`.")
    )
    metadata = WebhookEventMetadataSerializer(required=False)


class WebhookEventDataSerializer(serializers.Serializer):
    object = WebhookEventObjectSerializer()


class WebhookEventInputSerializer(serializers.Serializer):
    """A Stripe event, as both built-in providers send it."""

    id = serializers.CharField(
        max_length=255, help_text=_("The provider's event id; a redelivery repeats it.")
    )
    type = serializers.CharField(
        help_text=_(
            "`payment_intent.succeeded`, `payment_intent.payment_failed` or "
            "`charge.refunded`; other types are stored, answered 200 and flagged for staff."
        )
    )
    # The serializer metaclass takes declared fields off the class, so this never shadows
    # Serializer.data at run time; the stubs cannot express that.
    data = WebhookEventDataSerializer()  # type: ignore[assignment]


class WebhookReceivedOutputSerializer(serializers.Serializer):
    received = serializers.BooleanField(help_text=_("Always true: the event is stored."))
    id = serializers.CharField(help_text=_("The event id as stored."))
