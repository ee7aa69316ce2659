"""Signing key rows."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base, CreatedAtMixin, IdMixin


class KeyStatus(enum.StrEnum):
    """A key is pending until its owner is approved, active until revoked."""

    PENDING = "pending"
    ACTIVE = "active"
    REVOKED = "revoked"


class KeyOwnerKind(enum.StrEnum):
    """Who a key speaks for."""

    VENDOR = "vendor"
    PRINCIPAL = "principal"
    AUDITOR = "auditor"


class SigningKeyRecord(IdMixin, CreatedAtMixin, Base):
    """A registered Ed25519 public key and its life."""

    __tablename__ = "signing_key"

    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    """Lowercase hex SHA-256 of `public_key`."""
    public_key: Mapped[bytes]
    owner_kind: Mapped[KeyOwnerKind] = mapped_column(
        Enum(
            KeyOwnerKind,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"), index=True)
    principal_id: Mapped[int | None] = mapped_column(ForeignKey("principal.id"), index=True)
    auditor_id: Mapped[int | None] = mapped_column(ForeignKey("auditor.id"), index=True)
    """Auditor organisation, for keys of accredited auditors."""
    status: Mapped[KeyStatus] = mapped_column(
        Enum(
            KeyStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        )
    )
    activated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    """The moment of revocation: envelopes received or dated from then on are refused;
    those accepted before stay valid."""
    compromised_since: Mapped[datetime | None]
    """Given when a key is revoked for compromise: records it signed from this instant on
    (by their signing or receive time) are listed for review and flagged publicly."""
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    authorised_by_key_id: Mapped[str | None] = mapped_column(String(64))
    """The key that signed this key's registration (rotation), if any."""
    authorised_by_principal_id: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    """The admin whose decision activated this key (application approval), if any."""
    log_index: Mapped[int | None]
    """The log entry that made this key usable (rotation or application approval)."""
    revocation_log_index: Mapped[int | None]
    """The log entry of its revocation, once revoked."""

    __table_args__ = (
        CheckConstraint(
            "(owner_kind = 'vendor' AND vendor_id IS NOT NULL)"
            " OR (owner_kind = 'principal' AND principal_id IS NOT NULL)"
            " OR (owner_kind = 'auditor' AND auditor_id IS NOT NULL)",
            name="owner_present",
        ),
    )
