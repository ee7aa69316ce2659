"""Accredited auditor and audit result rows."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base, CreatedAtMixin, IdMixin


class AuditResult(enum.StrEnum):
    """The auditor's overall verdict."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"


class Auditor(IdMixin, CreatedAtMixin, Base):
    """An auditor organisation accredited by the federation for some associations."""

    __tablename__ = "auditor"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    principal_id: Mapped[int] = mapped_column(ForeignKey("principal.id"), unique=True)
    """The auditor role principal its keys log in as."""
    scope: Mapped[list[str]] = mapped_column(JSON)
    """Slugs of the associations whose vendors it may audit."""
    accredited_from: Mapped[datetime]
    accredited_until: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    log_index: Mapped[int | None]


class AuditRecord(IdMixin, Base):
    """An accepted audit result, kept as the exact envelope bytes."""

    __tablename__ = "audit"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"))
    auditor_id: Mapped[int] = mapped_column(ForeignKey("auditor.id"), index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    key_id: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    envelope_digest: Mapped[str] = mapped_column(String(64), unique=True)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    issued_at: Mapped[datetime]
    result: Mapped[AuditResult] = mapped_column(
        Enum(
            AuditResult, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e]
        )
    )
    outcomes: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    report_sha256: Mapped[str] = mapped_column(String(64))
    next_audit_due: Mapped[datetime | None]
    gap_before: Mapped[bool]
    """The period does not start where the vendor's previous audit ended (flagged, not refused)."""
    received_at: Mapped[datetime]
    log_index: Mapped[int]

    __table_args__ = (Index("ix_audit_vendor_period", "vendor_id", "period_end"),)
