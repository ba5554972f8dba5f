"""Shipments with their carrier tracking, and returns (RMAs)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shop.core.models import BaseModel


class Carrier(BaseModel):
    """A carrier shipments can go with; admins keep the list. `tracking_url_template` holds
    `{tracking_number}` where the number goes."""

    slug = models.SlugField(_("slug"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    tracking_url_template = models.CharField(
        _("tracking URL"),
        max_length=300,
        blank=True,
        help_text=_("The carrier's tracking page, with {tracking_number} where the number goes."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # The offline carrier: staff send its tracking callbacks from the admin.
    is_sandbox = models.BooleanField(_("sandbox"), default=False)

    class Meta:
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def tracking_url(self, tracking_number: str) -> str:
        if "{tracking_number}" not in self.tracking_url_template:
            return ""
        from urllib.parse import quote

        return self.tracking_url_template.replace(
            "{tracking_number}", quote(tracking_number, safe="")
        )


class ShipmentStatus(models.TextChoices):
    SHIPPED = "shipped", _("Shipped")
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    EXCEPTION = "exception", _("Delivery problem")


class Shipment(BaseModel):
    """A parcel one merchant sent for an order: some of its lines, with a tracking number."""

    Status = ShipmentStatus

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey("catalog.Merchant", on_delete=models.PROTECT, related_name="+")
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="shipments")
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    status = models.CharField(
        _("status"), max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.SHIPPED
    )
    # When the current status happened at the carrier: an older event never replaces it.
    status_at = models.DateTimeField(_("status since"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="fulfilment_shipment_order")]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"], name="fulfilment_shipment_unique_tracking"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ShipmentStatus.values),
                name="fulfilment_shipment_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(tracking_number=""), name="fulfilment_shipment_tracking_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier_id}:{self.tracking_number}"

    @property
    def tracking_url(self) -> str:
        return self.carrier.tracking_url(self.tracking_number)


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="fulfilment_shipmentline_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["shipment", "order_line"], name="fulfilment_shipmentline_unique_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x line {self.order_line_id}"


class ShipmentEvent(models.Model):
    """One step of a shipment's timeline, as the carrier (or the merchant) reported it. Every
    event stays, in the order it happened; the shipment's status is the latest."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(_("status"), max_length=20, choices=ShipmentStatus.choices)
    description = models.CharField(_("description"), max_length=500, blank=True)
    occurred_at = models.DateTimeField(_("happened at"))
    # The carrier callback's id ("" for the event the shipping itself wrote).
    source = models.CharField(_("source"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("shipment event")
        verbose_name_plural = _("shipment events")
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "source"],
                condition=~Q(source=""),
                name="fulfilment_shipmentevent_unique_source",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ShipmentStatus.values),
                name="fulfilment_shipmentevent_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} at {self.occurred_at:%Y-%m-%d %H:%M}"


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RECEIVED = "received", _("Received")
    REFUNDED = "refunded", _("Refunded")
    CANCELLED = "cancelled", _("Cancelled")


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", _("Arrived damaged")
    DEFECTIVE = "defective", _("Does not work")
    WRONG_ITEM = "wrong_item", _("Wrong item sent")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    NO_LONGER_NEEDED = "no_longer_needed", _("No longer needed")
    OTHER = "other", _("Other")


class Return(BaseModel):
    """A shopper's request to send delivered items of one merchant back, and its handling."""

    Status = ReturnStatus
    Reason = ReturnReason

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey("catalog.Merchant", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=20, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED
    )
    reason = models.CharField(_("reason"), max_length=30, choices=ReturnReason.choices)
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    # The merchant's word: why rejected, or how to send the goods back.
    note = models.TextField(_("merchant's note"), max_length=2000, blank=True)
    refund_amount = models.DecimalField(_("refund"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order", "created_at"], name="fulfilment_return_order")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ReturnStatus.values), name="fulfilment_return_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=ReturnReason.values), name="fulfilment_return_reason_valid"
            ),
            models.CheckConstraint(
                condition=Q(refund_amount__gte=Decimal("0")),
                name="fulfilment_return_refund_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"RMA {self.pk} ({self.status})"


class ReturnLine(models.Model):
    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    refund_amount = models.DecimalField(_("refund"), max_digits=12, decimal_places=2)
    # Chosen by the merchant when the goods come back: on the shelf again, or damaged.
    restock = models.BooleanField(_("restocked"), null=True, blank=True)

    class Meta:
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="fulfilment_returnline_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["return_request", "order_line"], name="fulfilment_returnline_unique_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x line {self.order_line_id}"
