"""Outbox, webhook endpoint and delivery rows."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base, CreatedAtMixin, IdMixin


class DeliveryStatus(enum.StrEnum):
    """A delivery is pending until the endpoint answers 2xx or the attempts run out."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxMessage(IdMixin, CreatedAtMixin, Base):
    """An event for a vendor or for an association's mediators, written in the same
    transaction as the change it reports. Exactly one of the two addressees is set."""

    __tablename__ = "outbox_message"

    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"), index=True)
    """The vendor whose webhooks carry the event."""
    association_id: Mapped[int | None] = mapped_column(ForeignKey("association.id"), index=True)
    """The association whose mediators read the event in their notification feed."""
    event: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    dispatched_at: Mapped[datetime | None]
    """When deliveries to the vendor's endpoints were created; NULL rows are the job's work."""

    __table_args__ = (
        Index("ix_outbox_message_pending", "dispatched_at", "id"),
        CheckConstraint("(vendor_id IS NULL) <> (association_id IS NULL)", name="one_addressee"),
    )


class WebhookEndpoint(IdMixin, CreatedAtMixin, Base):
    """A URL a vendor registered to receive signed event notifications."""

    __tablename__ = "webhook_endpoint"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(200))
    deleted_at: Mapped[datetime | None]
    """Deleted endpoints get nothing new; their delivery log stays readable."""


class WebhookDelivery(IdMixin, CreatedAtMixin, Base):
    """One message to one endpoint, with its attempts so far."""

    __tablename__ = "webhook_delivery"

    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(
            DeliveryStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)
