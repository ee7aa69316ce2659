"""Complaint, its event thread and each association's SLA clocks."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db.base import Base, CreatedAtMixin, IdMixin
from registry.membership.models import Vendor


def _enum(kind: type[enum.Enum], length: int) -> Enum:
    return Enum(
        kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class ComplaintCategory(enum.StrEnum):
    """The fixed list of what consumers complain about."""

    PERSONAL_INFORMATION_LEAK = "personal_information_leak"
    QUALITY_BELOW_STANDARD = "quality_below_standard"
    FALSE_ADVERTISING = "false_advertising"
    MISSING_AFTER_SALES = "missing_after_sales"
    BILLING_REFUND = "billing_refund"
    UNFAIR_TERMS = "unfair_terms"
    OTHER = "other"


class SubjectKind(enum.StrEnum):
    """What the complaint is about: a member vendor, or an unregistered subject by id."""

    VENDOR = "vendor"
    DOMAIN = "domain"
    APP_ID = "app_id"
    CREDIT_CODE = "credit_code"


class ComplaintStatus(enum.StrEnum):
    """submitted → forwarded → acknowledged → resolution_proposed → resolved | escalated →
    mediated → closed."""

    SUBMITTED = "submitted"
    FORWARDED = "forwarded"
    ACKNOWLEDGED = "acknowledged"
    RESOLUTION_PROPOSED = "resolution_proposed"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    MEDIATED = "mediated"
    CLOSED = "closed"


class SlaClock(enum.StrEnum):
    """Which promise a running deadline stands for."""

    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class MediationOutcome(enum.StrEnum):
    """A mediator's finding; only `upheld` (or a vendor's concession) counts against a vendor."""

    UPHELD = "upheld"
    NOT_UPHELD = "not_upheld"


class ActorKind(enum.StrEnum):
    """Who acted on a complaint."""

    CONSUMER = "consumer"
    VENDOR = "vendor"
    MEDIATOR = "mediator"
    ADMIN = "admin"
    """An association or federation admin (linking an unregistered subject to a vendor)."""
    SYSTEM = "system"


class EventKind(enum.StrEnum):
    """A thread entry is a state change, a message, a disclosure of the contact, or the
    attachment of an unregistered subject's complaint to the member vendor it turned out to be."""

    TRANSITION = "transition"
    MESSAGE = "message"
    CONTACT_REVEALED = "contact_revealed"
    CONTACT_ERASED = "contact_erased"
    DUPLICATE_MERGED = "duplicate_merged"
    VENDOR_ATTACHED = "vendor_attached"


class Complaint(IdMixin, CreatedAtMixin, Base):
    """One consumer complaint; the contact is only ever stored sealed (PyNaCl SecretBox)."""

    __tablename__ = "complaint"

    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    """What the consumer quotes; public, so it carries no personal data."""
    secret_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the consumer's secret, shown once at filing (like API tokens)."""
    association_id: Mapped[int | None] = mapped_column(ForeignKey("association.id"))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"))
    subject_kind: Mapped[SubjectKind] = mapped_column(_enum(SubjectKind, 16))
    subject_value: Mapped[str] = mapped_column(String(253))
    """The vendor slug, or the unregistered subject's domain, app id or credit code."""
    product: Mapped[str] = mapped_column(String(200))
    category: Mapped[ComplaintCategory] = mapped_column(_enum(ComplaintCategory, 32))
    description: Mapped[str] = mapped_column(Text)
    desired_remedy: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(String(6))
    """Province-level administrative division code (GB/T 2260), e.g. 110000."""
    occurred_on: Mapped[date]
    language: Mapped[str] = mapped_column(String(5))
    status: Mapped[ComplaintStatus] = mapped_column(_enum(ComplaintStatus, 24))
    contact_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    """SecretBox(nonce ‖ ciphertext) of the contact JSON; NULL once erased."""
    contact_fingerprint: Mapped[str | None] = mapped_column(String(64))
    """Keyed hash of the normalised contact, for rate limits and duplicate merging only."""
    ip_fingerprint: Mapped[str] = mapped_column(String(64))
    """Keyed hash of the filer's IP address, for the per-IP rate limit only."""
    consent_to_share: Mapped[bool] = mapped_column(Boolean)
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    sla_due_at: Mapped[datetime | None]
    """The deadline the vendor is racing now; NULL when no clock runs. The SLA scan reads
    only this index, so it stays fast however many complaints are open."""
    sla_clock: Mapped[SlaClock | None] = mapped_column(_enum(SlaClock, 16))
    forwarded_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    breached_clock: Mapped[SlaClock | None] = mapped_column(_enum(SlaClock, 16))
    breached_at: Mapped[datetime | None]
    proposal: Mapped[str | None] = mapped_column(Text)
    vendor_conceded: Mapped[bool] = mapped_column(Boolean, default=False)
    mediation_outcome: Mapped[MediationOutcome | None] = mapped_column(_enum(MediationOutcome, 16))
    substantiated: Mapped[bool] = mapped_column(Boolean, default=False)
    """Upheld by a mediator or conceded by the vendor: what counts against the vendor."""
    duplicates_merged: Mapped[int] = mapped_column(Integer, default=0)
    """Later filings a mediator joined into this complaint's thread."""
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaint.id", ondelete="SET NULL"), index=True
    )
    """The earlier open complaint by the same contact about the same subject and category.
    Known to mediators only: the filer of either complaint never learns of the other."""
    duplicate_joined_at: Mapped[datetime | None]
    """When a mediator joined this duplicate into the earlier complaint (and closed it)."""
    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None]
    contact_erased_at: Mapped[datetime | None]

    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id"
    )
    vendor: Mapped[Vendor | None] = relationship()

    __table_args__ = (
        Index("ix_complaint_sla_due_at", "sla_due_at"),
        Index("ix_complaint_vendor_created", "vendor_id", "created_at"),
        Index("ix_complaint_association_status", "association_id", "status"),
        Index("ix_complaint_contact_created", "contact_fingerprint", "created_at"),
        Index("ix_complaint_ip_created", "ip_fingerprint", "created_at"),
        Index("ix_complaint_subject", "subject_kind", "subject_value"),
    )


class ComplaintEvent(IdMixin, CreatedAtMixin, Base):
    """The thread: every transition and message, timestamped, with its actor."""

    __tablename__ = "complaint_event"

    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, 24))
    actor: Mapped[ActorKind] = mapped_column(_enum(ActorKind, 16))
    actor_principal_id: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    from_status: Mapped[ComplaintStatus | None] = mapped_column(_enum(ComplaintStatus, 24))
    to_status: Mapped[ComplaintStatus | None] = mapped_column(_enum(ComplaintStatus, 24))
    body: Mapped[str | None] = mapped_column(Text)

    complaint: Mapped[Complaint] = relationship(back_populates="events")


class ComplaintSlaPolicy(IdMixin, CreatedAtMixin, Base):
    """An association's complaint clocks; absent means the settings' defaults (24 h / 7 d)."""

    __tablename__ = "complaint_sla_policy"

    association_id: Mapped[int] = mapped_column(ForeignKey("association.id"), unique=True)
    first_response_seconds: Mapped[int]
    resolution_seconds: Mapped[int]
    updated_at: Mapped[datetime]
