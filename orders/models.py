from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from orders.querysets import OrderLineQuerySet, OrderQuerySet
from shop.core.models import BaseModel


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PAID = "paid", _("Paid")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


# Orders whose money has been taken and not all given back: the buyer has the goods or
# will get them ("bought this product", recommendations, reviews).
PAID_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
)


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


class FulfilmentStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled", _("Unfulfilled")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")


class CancelledBy(models.TextChoices):
    """Who cancelled an order: it decides what money arriving afterwards means to it
    (`orders.services.order_payment_captured`)."""

    CUSTOMER = "customer", _("the customer")
    MERCHANT = "merchant", _("a merchant")
    STAFF = "staff", _("the shop")
    EXPIRED = "expired", _("payment time ran out")


# Cancels a person chose: money arriving afterwards is refunded, never used to revive
# the order. Only an order the expiry task cancelled may come back.
DELIBERATE_CANCELS = (CancelledBy.CUSTOMER, CancelledBy.MERCHANT, CancelledBy.STAFF)


class Order(BaseModel):
    Status = OrderStatus
    PaymentStatus = PaymentStatus
    FulfilmentStatus = FulfilmentStatus
    CancelledBy = CancelledBy

    # From a database sequence (migration 0003): unique with no lookup, returned by INSERT.
    number = models.CharField(
        _("number"),
        max_length=20,
        unique=True,
        editable=False,
        db_default=models.Func(function="orders_next_number", output_field=models.CharField()),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    email = models.EmailField(_("email"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT
    )
    payment_status = models.CharField(
        _("payment"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    fulfilment_status = models.CharField(
        _("fulfilment"),
        max_length=20,
        choices=FulfilmentStatus.choices,
        default=FulfilmentStatus.UNFULFILLED,
    )

    currency = models.CharField(_("currency"), max_length=3)
    subtotal_amount = models.DecimalField(_("subtotal"), max_digits=12, decimal_places=2)
    shipping_amount = models.DecimalField(_("shipping"), max_digits=12, decimal_places=2)
    total_amount = models.DecimalField(_("total"), max_digits=12, decimal_places=2)

    shipping_method = models.ForeignKey(
        "shipping.ShippingMethod", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    shipping_method_name = models.CharField(_("shipping method"), max_length=120)
    # A snapshot: editing or deleting an address book entry never changes a placed order.
    ship_full_name = models.CharField(_("full name"), max_length=150)
    ship_line1 = models.CharField(_("address line 1"), max_length=200)
    ship_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    ship_city = models.CharField(_("city"), max_length=100)
    ship_postal_code = models.CharField(_("postal code"), max_length=20)
    ship_country = models.CharField(_("country"), max_length=2)
    ship_phone = models.CharField(_("phone"), max_length=32, blank=True)

    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    # Set with the status `cancelled` and cleared with it (a constraint holds both).
    cancelled_by_kind = models.CharField(
        _("cancelled by"), max_length=20, choices=CancelledBy.choices, blank=True, default=""
    )
    cancel_reason = models.CharField(_("cancel reason"), max_length=255, blank=True, default="")
    # The first time a merchant acknowledged lines of this paid order (orders.services.
    # order_acknowledge; shipping will set it too): from then on the shopper cannot cancel.
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The confirmation mail's tries (bounded by ORDER_CONFIRMATION_MAX_ATTEMPTS) and the
    # claim of the try under way: a worker mails with no row locked, so this is what keeps a
    # second one from sending at the same time (orders.services.order_confirmation_send).
    confirmation_attempts = models.PositiveSmallIntegerField(
        default=0, db_default=0, editable=False
    )
    confirmation_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="orders_order_user_recent"),
            models.Index(
                fields=["created_at"],
                condition=Q(status=OrderStatus.PENDING_PAYMENT),
                name="orders_order_pending_created",
            ),
            # The confirmation sweeper's few rows, without scanning every order.
            models.Index(
                fields=["created_at"],
                condition=Q(confirmation_sent_at__isnull=True),
                name="orders_order_unconfirmed",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="orders_order_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(payment_status__in=PaymentStatus.values),
                name="orders_order_payment_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(fulfilment_status__in=FulfilmentStatus.values),
                name="orders_order_fulfilment_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(subtotal_amount__gte=Decimal("0"))
                & Q(shipping_amount__gte=Decimal("0")),
                name="orders_order_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(total_amount=F("subtotal_amount") + F("shipping_amount")),
                name="orders_order_total_is_sum",
            ),
            # A cancelled order says who cancelled it; any other order says nobody did.
            models.CheckConstraint(
                condition=Q(status=OrderStatus.CANCELLED, cancelled_by_kind__in=CancelledBy.values)
                | (~Q(status=OrderStatus.CANCELLED) & Q(cancelled_by_kind="")),
                name="orders_order_cancelled_by_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:detail", kwargs={"number": self.number})

    @property
    def is_cancellable(self) -> bool:
        """Whether `order_cancel` accepts this order now: while it awaits payment, or paid
        while no merchant has acknowledged or shipped any of it (then it is refunded in
        full). Fulfilment (shipments) marks the order acknowledged when it ships."""
        return self.status == self.Status.PENDING_PAYMENT or (
            self.status == self.Status.PAID
            and self.fulfilment_status == self.FulfilmentStatus.UNFULFILLED
            and self.acknowledged_at is None
        )

    @property
    def was_cancelled_deliberately(self) -> bool:
        """Cancelled by a person (not by the expiry task): its cancel must stick."""
        return self.status == self.Status.CANCELLED and (
            self.cancelled_by_kind in DELIBERATE_CANCELS
        )


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # Kept for stock bookkeeping; PROTECT because a sold variant is deactivated, not deleted.
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    # The variant's product at placement: what the shopper bought, for reviews and
    # recommendations, without reading the catalog's tables.
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey("catalog.Merchant", on_delete=models.PROTECT, related_name="+")
    product_name = models.CharField(_("product"), max_length=200)
    variant_name = models.CharField(_("variant"), max_length=120)
    sku = models.CharField(_("SKU"), max_length=64)
    merchant_name = models.CharField(_("merchant"), max_length=150)
    unit_price_amount = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"))
    line_total_amount = models.DecimalField(_("line total"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    # Units that left in a shipment, and units the merchant could not send (refunded). The
    # rest is still to ship; the constraint keeps the three within the quantity bought.
    shipped_quantity = models.PositiveIntegerField(_("shipped"), default=0)
    cancelled_quantity = models.PositiveIntegerField(_("cancelled"), default=0)
    # When the line's merchant acknowledged it (orders.services.order_acknowledge).
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    objects = OrderLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="orders_orderline_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(line_total_amount=F("unit_price_amount") * F("quantity")),
                name="orders_orderline_total_is_product",
            ),
            models.UniqueConstraint(
                fields=["order", "variant"], name="orders_orderline_unique_variant"
            ),
            models.CheckConstraint(
                condition=Q(shipped_quantity__lte=F("quantity") - F("cancelled_quantity")),
                name="orders_orderline_shipped_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"

    @property
    def unshipped_quantity(self) -> int:
        """Units still to ship: bought, less shipped, less cancelled."""
        return self.quantity - self.shipped_quantity - self.cancelled_quantity


class OrderEvent(models.Model):
    """An append-only trail of everything that happened to an order: who, when, from, to."""

    class Kind(models.TextChoices):
        PLACED = "placed", _("Placed")
        STATUS_CHANGED = "status_changed", _("Status changed")
        NOTE = "note", _("Note")
        SHIPMENT = "shipment", _("Shipment")
        LINES_CANCELLED = "lines_cancelled", _("Lines cancelled")
        RETURN = "return", _("Return")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged by a merchant")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} → {self.to_status}"

    @property
    def to_status_label(self) -> str:
        """The status moved to, as the shopper reads it."""
        if self.to_status in OrderStatus.values:
            return str(OrderStatus(self.to_status).label)
        return self.to_status
