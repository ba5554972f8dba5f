from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.core.models import BaseModel


class Provider(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox")
    STRIPE = "stripe", _("Stripe")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    AUTHORIZED = "authorized", _("Authorized")
    CAPTURED = "captured", _("Captured")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    FAILED = "failed", _("Failed")


class Payment(BaseModel):
    """One attempt to take an order's money through a provider."""

    Status = PaymentStatus

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    # The provider's id for it (a PaymentIntent id); empty until the provider answered.
    provider_reference = models.CharField(_("provider reference"), max_length=255, blank=True)
    client_secret = models.CharField(max_length=255, blank=True, editable=False)
    redirect_url = models.URLField(max_length=500, blank=True, editable=False)
    failure_reason = models.CharField(_("failure reason"), max_length=255, blank=True)
    # Voiding (the order was cancelled while this awaited payment): the payment is failed
    # at once, here; the provider is told after commit (payments.services.cancel), and
    # `voided_at` records its answer. A sweeper retries what a broker outage left behind.
    void_requested_at = models.DateTimeField(
        _("void requested at"), null=True, blank=True, editable=False
    )
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payments_payment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(provider__in=Provider.values), name="payments_payment_provider_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=Decimal("0")), name="payments_payment_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="payments_payment_unique_reference",
            ),
        ]
        indexes = [
            models.Index(
                fields=["void_requested_at"],
                condition=Q(void_requested_at__isnull=False, voided_at__isnull=True),
                name="payments_payment_void_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.amount} {self.currency} ({self.status})"


class MoneyEvent(models.Model):
    """Append-only: every movement of money on a payment. Totals are derived from these."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", _("Capture")
        REFUND = "refund", _("Refund")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="money_events")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    # What caused it: a webhook event id or a refund's idempotency key. Unique per payment,
    # so the same cause can never move money twice.
    source = models.CharField(_("source"), max_length=255)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("money event")
        verbose_name_plural = _("money events")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=Decimal("0")), name="payments_moneyevent_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["payment", "kind", "source"], name="payments_moneyevent_unique_source"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class Refund(BaseModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    provider_reference = models.CharField(_("provider reference"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    failure_reason = models.CharField(_("failure reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=Decimal("0")), name="payments_refund_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} ({self.status})"


class WebhookEventStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    FLAGGED = "flagged", _("Flagged for staff")
    FAILED = "failed", _("Failed")


# The task that applies a payment provider's events; other callers of the inbox (carriers)
# name theirs.
PAYMENT_EVENT_HANDLER = "payments.tasks.webhook_event_apply_task"


class WebhookEvent(models.Model):
    """A verified callback (a payment provider's or a carrier's), stored before anything
    else happens to it: the shop's one inbox. `handler` names the Celery task that applies
    it, so the sweeper and staff's re-apply can queue any event without knowing its kind."""

    Status = WebhookEventStatus

    # A payment provider (`stripe`), or `carrier:<slug>` for a carrier's tracking events.
    provider = models.CharField(_("provider"), max_length=50)
    handler = models.CharField(_("handler"), max_length=100, default=PAYMENT_EVENT_HANDLER)
    event_id = models.CharField(_("event id"), max_length=255)
    type = models.CharField(_("type"), max_length=100)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    payment = models.ForeignKey(
        Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="webhook_events"
    )

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(status=WebhookEventStatus.RECEIVED),
                name="payments_webhook_unapplied",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="payments_webhookevent_unique_event"
            ),
            models.CheckConstraint(
                condition=Q(status__in=WebhookEventStatus.values),
                name="payments_webhookevent_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id} ({self.type})"
