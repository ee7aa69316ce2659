"""Vendor, vendor domain and vendor application rows."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db.base import Base, CreatedAtMixin, IdMixin


class VendorStatus(enum.StrEnum):
    """Membership status; certification has its own state machine."""

    APPLICANT = "applicant"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPELLED = "expelled"


class ApplicationStatus(enum.StrEnum):
    """Where an application to join stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Vendor(IdMixin, CreatedAtMixin, Base):
    """A member (or applicant) vendor, identified by its unified social credit code."""

    __tablename__ = "vendor"

    association_id: Mapped[int] = mapped_column(ForeignKey("association.id"))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    """18-character unified social credit code, check digit per GB 32100-2015."""
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[VendorStatus] = mapped_column(
        Enum(
            VendorStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    updated_at: Mapped[datetime]

    domains: Mapped[list[VendorDomain]] = relationship(
        back_populates="vendor", cascade="all, delete-orphan", order_by="VendorDomain.domain"
    )

    __table_args__ = (
        Index("ix_vendor_name_en_lower", "name_en"),
        Index("ix_vendor_status", "status"),
    )


class VendorDomain(IdMixin, Base):
    """A domain a vendor serves consumers from; one vendor per domain."""

    __tablename__ = "vendor_domain"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)

    vendor: Mapped[Vendor] = relationship(back_populates="domains")


class VendorApplication(IdMixin, Base):
    """A signed application to join an association, kept as the exact envelope bytes."""

    __tablename__ = "vendor_application"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    """Canonical JSON of the DSSE envelope as received."""
    envelope_digest: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of `envelope`; the same envelope again returns this application."""
    key_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[ApplicationStatus] = mapped_column(
        Enum(
            ApplicationStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        index=True,
    )
    submitted_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    log_index: Mapped[int | None]
    """Transparency-log index of the application envelope."""
    decision_log_index: Mapped[int | None]

    vendor: Mapped[Vendor] = relationship()
