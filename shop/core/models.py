from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BaseModel(models.Model):
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class IdempotencyKey(models.Model):
    """The first answer to a request sent with an `Idempotency-Key` header, kept so a retry
    with the same key and body gets the same answer and creates nothing new."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(_("scope"), max_length=64)
    key = models.CharField(_("key"), max_length=255)
    request_hash = models.CharField(_("request hash"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"))
    response_body = models.JSONField(_("response body"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "scope", "key"], name="core_idempotencykey_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class OutboxEmail(models.Model):
    """An email the shop has decided to send, written in the transaction that decided it.

    The `key` names the occasion (`shipment-shipped:12`), so deciding twice queues one email;
    a task sends it after commit, outside any row lock, a bounded number of times; a sweeper
    sends what a broker outage left behind."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    key = models.CharField(_("key"), max_length=200, unique=True)
    to = models.JSONField(_("to"))
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="core_outboxemail_unsent",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "sending", "sent", "failed"]),
                name="core_outboxemail_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class Shop(models.Model):
    """The shop itself: one row (id 1), created by migration from `SHOP_CURRENCY`.

    `currency` is what every catalog price and shipping price is stored in. The price
    tables hold it by a foreign key on their `currency` column (catalog and shipping
    migrations), so a row in another currency cannot exist, whatever a form or a script
    sends; and since the key is to this one row, the database itself says which currency
    its prices are in. A deployment whose `SHOP_CURRENCY` disagrees fails the `core.E001`
    check (run by `migrate`) and checkout refuses to sell rather than relabel a price."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    currency = models.CharField(_("currency"), max_length=3, unique=True)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shop")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="core_shop_one_row"),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="core_shop_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return f"Shop ({self.currency})"


class UnsentVersionBump(models.Model):
    """A page-cache version bump that could not reach Redis (shop.core.pagecache): replayed
    when Redis answers again, so no page cached before an outage outlives a change made
    during it."""

    name = models.CharField(_("version"), max_length=200)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("unsent cache version bump")
        verbose_name_plural = _("unsent cache version bumps")

    def __str__(self) -> str:
        return self.name


class PendingMark(models.Model):
    """An "already asked, work queued" mark with an expiry (shop.core.marks): what
    `cache.add()` gives request coalescing, kept in PostgreSQL so that a Redis outage
    neither loses a mark nor makes every request look like the first."""

    key = models.CharField(_("key"), max_length=200, primary_key=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("pending mark")
        verbose_name_plural = _("pending marks")

    def __str__(self) -> str:
        return self.key
