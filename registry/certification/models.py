"""Scheme, attestation, certificate and transition rows."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.certification.status import CertificationState
from registry.db.base import Base, CreatedAtMixin, IdMixin


def _enum(kind: type[enum.Enum], length: int = 16) -> Enum:
    return Enum(
        kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class TransitionCause(enum.StrEnum):
    """What moved a certificate: evidence, a deadline, an admin or a blacklist decision."""

    ATTESTATION = "attestation"
    AUDIT = "audit"
    DEADLINE = "deadline"
    ADMIN = "admin"
    BLACKLIST = "blacklist"


class Scheme(IdMixin, CreatedAtMixin, Base):
    """One published version of an association's certification scheme; never edited."""

    __tablename__ = "scheme"

    association_id: Mapped[int] = mapped_column(ForeignKey("association.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Criteria, levels, validity, audit cadence and grace periods (see `schemes.SchemeRules`)."""
    published_at: Mapped[datetime]
    log_index: Mapped[int | None]

    __table_args__ = (UniqueConstraint("association_id", "slug", "version"),)

    @property
    def label(self) -> str:
        """`slug@version`, how statements and public views name a scheme version."""
        return f"{self.slug}@{self.version}"


class AttestationRecord(IdMixin, Base):
    """An accepted self-regulation attestation: what decisions and listings read of it.

    The signed envelope itself is kept once, byte for byte, in the transparency-log
    leaf at `log_index`, where anyone can check it; the per-criterion claims are in its
    statement. Keeping both here as well doubled what every submission wrote
    (docs/performance.md, "Attestation ingestion").
    """

    __tablename__ = "attestation"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"))
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    key_id: Mapped[str] = mapped_column(String(64))
    envelope_digest: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the envelope's canonical JSON; the same envelope again returns this
    record."""
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    issued_at: Mapped[datetime]
    all_met: Mapped[bool]
    """Every criterion of the scheme is claimed as met."""
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime]
    log_index: Mapped[int]
    """The log entry whose leaf holds the envelope."""

    __table_args__ = (
        Index("ix_attestation_vendor_period", "vendor_id", "period_start"),
        # The latest periods first, for every reevaluation (`load_decision_inputs`).
        Index("ix_attestation_vendor_period_end", "vendor_id", "period_end"),
    )


class Certification(IdMixin, CreatedAtMixin, Base):
    """A vendor's one certificate: its current state, level and deadlines."""

    __tablename__ = "certification"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), unique=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    """The scheme version the current grant was made under; later versions do not change it."""
    state: Mapped[CertificationState] = mapped_column(_enum(CertificationState))
    level: Mapped[int | None]
    certified_since: Mapped[datetime | None]
    """Start of the current unbroken certified period (renewals before expiry keep it)."""
    valid_until: Mapped[datetime | None]
    audit_due: Mapped[datetime | None]
    """When the next audit must be in, for certificates that rely on audits (L2, L3)."""
    reminded_days: Mapped[int | None]
    """Smallest renewal-reminder threshold (days before expiry) already sent for `valid_until`."""
    changed_at: Mapped[datetime]
    log_index: Mapped[int | None]
    """Log index of the latest transition."""
    causes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    """Every cause in force (`status.SuspensionCause.to_json`): the certificate is held
    while any is, and only each cause's owner (or curing evidence) removes it."""

    __table_args__ = (
        Index("ix_certification_state_valid_until", "state", "valid_until"),
        Index("ix_certification_state_audit_due", "state", "audit_due"),
    )


class CertificationTransition(IdMixin, Base):
    """One logged change of a certificate, with what caused it."""

    __tablename__ = "certification_transition"

    certification_id: Mapped[int] = mapped_column(ForeignKey("certification.id"), index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)
    at: Mapped[datetime]
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    level: Mapped[int | None]
    valid_until: Mapped[datetime | None]
    cause: Mapped[TransitionCause] = mapped_column(_enum(TransitionCause))
    cause_ref: Mapped[str | None] = mapped_column(String(100))
    """Which attestation, audit or deadline, e.g. `attestation:12`, `deadline:expiry`."""
    reason: Mapped[str | None] = mapped_column(Text)
    reason_lang: Mapped[str | None] = mapped_column(String(8))
    """The language an admin wrote `reason` in (`zh` or `en`); None for the registry's own
    wording, which the public site translates into the reader's language."""
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    log_index: Mapped[int]
    causes_raised: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    """Causes this transition put in force, as logged in its leaf."""
    causes_cleared: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    """Causes this transition removed (each names the log index that raised it)."""
