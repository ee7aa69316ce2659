"""Vendor, vendor domain and vendor application rows."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db.base import Base, CreatedAtMixin, IdMixin
from registry.kernel.members import VendorStatus


class VendorSize(enum.StrEnum):
    """A member's size as it declares it, by the bands of the SME classification rules for
    software and information technology services (《中小企业划型标准规定》, 工信部联企业
    〔2011〕300号, article 4 (14)): micro has fewer than 10 employees or under 500,000 yuan
    of revenue; small at least 10 and 500,000 yuan; medium at least 100 and 10 million
    yuan; large at least 300 employees and 100 million yuan."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


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
    size: Mapped[VendorSize | None] = mapped_column(
        Enum(
            VendorSize,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    """As the approved application declared it; None when it did not say."""
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

    @property
    def verified_domains(self) -> list[str]:
        """The domains the vendor proved control of: the only ones shown as its own."""
        return [d.domain for d in self.domains if d.verified_at is not None]


class VendorDomain(IdMixin, Base):
    """A domain a vendor claims to serve consumers from: pending until the vendor proves
    control of it, verified after.

    Only a verified domain is the vendor's: it attaches complaints filed against the
    domain (and so lets the vendor read the complainants' contacts) and is shown in the
    directory. Several vendors may claim a domain while it is pending, so an applicant
    cannot block the real owner by listing its domain first; only one may verify it.
    """

    __tablename__ = "vendor_domain"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253))
    proof_token: Mapped[str] = mapped_column(String(64))
    """Registry-issued; the vendor serves it at https://<domain>/.well-known/trust-registry.txt.
    Random per (vendor, domain), so one vendor's proof never proves another's claim."""
    verified_at: Mapped[datetime | None]
    """When the registry found the proof; NULL while the claim is pending."""
    verification_method: Mapped[str | None] = mapped_column(String(16))
    """How control was shown: `https` (the well-known file), or `demo` for demo data."""

    vendor: Mapped[Vendor] = relationship(back_populates="domains")

    __table_args__ = (
        UniqueConstraint("vendor_id", "domain"),
        Index(
            "uq_vendor_domain_verified_domain",
            "domain",
            unique=True,
            sqlite_where=text("verified_at IS NOT NULL"),
            postgresql_where=text("verified_at IS NOT NULL"),
        ),
    )

    @property
    def verified(self) -> bool:
        """True once the vendor proved control of the domain."""
        return self.verified_at is not None


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
